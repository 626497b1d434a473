"""Synthetic people: names, identity numbers, phones and household composition.

Names are random combinations of common surnames and given-name characters, so they describe
no real person. Every function takes an explicit :class:`random.Random`; nothing touches the
global generator, so the same seed always yields the same people.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

DISTRICT_CODE = "620881"
# ISO 7064 MOD 11-2, as in gis.identity (tests check every generated number against it).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# The most common surnames, roughly by frequency (weights are relative shares).
_SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.8),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("赵", 2.3),
    ("黄", 2.2),
    ("周", 2.1),
    ("吴", 2.0),
    ("徐", 1.6),
    ("孙", 1.5),
    ("马", 1.4),
    ("朱", 1.3),
    ("胡", 1.3),
    ("郭", 1.2),
    ("何", 1.2),
    ("高", 1.1),
    ("林", 1.1),
    ("罗", 0.9),
    ("郑", 0.9),
    ("梁", 0.8),
    ("谢", 0.7),
    ("宋", 0.7),
    ("唐", 0.7),
    ("许", 0.7),
    ("韩", 0.6),
    ("冯", 0.6),
    ("邓", 0.6),
    ("曹", 0.6),
    ("彭", 0.6),
    ("曾", 0.5),
    ("肖", 0.5),
    ("田", 0.5),
    ("董", 0.5),
    ("袁", 0.5),
    ("潘", 0.4),
    ("于", 0.4),
    ("蒋", 0.4),
    ("蔡", 0.4),
    ("余", 0.4),
    ("杜", 0.4),
    ("叶", 0.4),
    ("程", 0.4),
    ("苏", 0.4),
    ("魏", 0.4),
    ("吕", 0.4),
    ("丁", 0.3),
    ("任", 0.3),
    ("沈", 0.3),
    ("姚", 0.3),
    ("卢", 0.3),
    ("姜", 0.3),
    ("崔", 0.3),
    ("钟", 0.3),
    ("谭", 0.3),
    ("陆", 0.3),
    ("汪", 0.3),
    ("范", 0.3),
    ("金", 0.3),
    ("石", 0.3),
    ("廖", 0.3),
    ("贾", 0.3),
    ("夏", 0.3),
    ("韦", 0.2),
    ("付", 0.2),
    ("方", 0.2),
    ("白", 0.2),
    ("邹", 0.2),
    ("孟", 0.2),
    ("熊", 0.2),
    ("秦", 0.2),
    ("邱", 0.2),
    ("江", 0.2),
    ("尹", 0.2),
    ("薛", 0.2),
    ("闫", 0.2),
    ("段", 0.2),
    ("雷", 0.2),
    ("侯", 0.2),
    ("龙", 0.2),
    ("史", 0.2),
    ("陶", 0.2),
    ("黎", 0.2),
    ("贺", 0.2),
    ("顾", 0.2),
    ("毛", 0.2),
    ("郝", 0.2),
    ("龚", 0.2),
    ("邵", 0.2),
    ("万", 0.2),
    ("安", 0.2),
    ("常", 0.2),
    ("景", 0.1),
    ("柳", 0.1),
    ("慕", 0.1),
    ("靳", 0.1),
    ("祁", 0.1),
)
_MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁浩凯健俊帆帅旭宇峰龙志国建文德东海成林亮"
_FEMALE_CHARS = "芳娟敏静丽艳燕霞玲桂秀英华慧巧美娜红梅琳素云莲真环雪荣爱妹倩婷怡佳欣悦颖晶蓉"
_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

_SURNAME_LIST = [s for s, _ in _SURNAMES]
_SURNAME_CUM: list[float] = []
_acc = 0.0
for _s, _w in _SURNAMES:
    _acc += _w
    _SURNAME_CUM.append(_acc)


def surname(rng: random.Random) -> str:
    """Draw a surname by frequency."""
    return rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]


def given_name(rng: random.Random, gender: str) -> str:
    """Draw a one- or two-character given name typical for ``gender`` ('男' or '女')."""
    chars = _MALE_CHARS if gender == "男" else _FEMALE_CHARS
    if rng.random() < 0.3:
        return rng.choice(chars)
    return rng.choice(chars) + rng.choice(chars)


def full_name(rng: random.Random, gender: str, family: str | None = None) -> str:
    """Draw a full name; ``family`` fixes the surname (children take the father's)."""
    return (family or surname(rng)) + given_name(rng, gender)


def mobile(rng: random.Random) -> str:
    """Draw a mobile number ``1[3-9]`` + nine digits from real carrier prefixes."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


class IdNumberAllocator:
    """Hand out unique, valid 18-digit identity numbers for one region.

    The three-digit sequence is a bijective shuffle of a per-(birth date, gender) counter, so
    numbers look random but never repeat. ``reserved`` splits the 500 sequence slots of each
    (date, gender) so that two allocators (staff and residents) can never collide.

    Parameters
    ----------
    region : str
        Six-digit region prefix.
    first_slot, last_slot : int
        Half-open range of the 500 per-(date, gender) slots this allocator may use.
    """

    def __init__(self, region: str = DISTRICT_CODE, first_slot: int = 0, last_slot: int = 450):
        self.region = region
        self.first_slot = first_slot
        self.last_slot = last_slot
        self._used: dict[tuple[int, int], int] = {}
        self._prefix: dict[int, tuple[str, int]] = {}

    def allocate(self, born: datetime.date, male: bool) -> str:
        """Return a new identity number for someone born on ``born``.

        If the date's slots are used up the next day is taken, which keeps the birth
        date plausible (off by a day or two at most).
        """
        day = born.toordinal()
        gender_bit = 1 if male else 0
        while True:
            key = (day, gender_bit)
            n = self._used.get(key, 0)
            if n < self.last_slot - self.first_slot:
                self._used[key] = n + 1
                break
            day += 1
        # 37 is coprime with 500, so this is a permutation of the 500 slots of the date.
        slot = (self.first_slot + n) * 37 % 500
        seq = slot * 2 + gender_bit
        cached = self._prefix.get(day)
        if cached is None:
            d = datetime.date.fromordinal(day)
            prefix = f"{self.region}{d.year:04d}{d.month:02d}{d.day:02d}"
            cached = (prefix, sum(int(ch) * w for ch, w in zip(prefix, _ID_WEIGHTS, strict=False)))
            self._prefix[day] = cached
        prefix, partial = cached
        # The check character of gis.identity.id_check_digit, with the date part cached
        # (this runs once per resident, millions of times for a big city).
        total = partial + (seq // 100) * 8 + (seq // 10 % 10) * 4 + (seq % 10) * 2
        return f"{prefix}{seq:03d}{_ID_CHECK[total % 11]}"


_YEAR_SPAN: dict[int, tuple[int, int]] = {}


def birth_date(rng: random.Random, as_of: datetime.date, age: int) -> datetime.date:
    """Draw a birth date so that the person is ``age`` years old by calendar year of ``as_of``."""
    year = as_of.year - age
    span = _YEAR_SPAN.get(year)
    if span is None:
        start = datetime.date(year, 1, 1).toordinal()
        span = (start, datetime.date(year, 12, 31).toordinal() - start + 1)
        _YEAR_SPAN[year] = span
    return datetime.date.fromordinal(span[0] + rng.randrange(span[1]))


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a synthetic household before identity numbers are assigned."""

    relation: str
    gender: str
    age: int


# Household size shares: mean ≈ 2.7, as in Chinese urban censuses.
_SIZES = (1, 2, 3, 4, 5, 6)
_SIZE_WEIGHTS = (18, 29, 29, 14, 8, 2)


def _other(gender: str) -> str:
    return "女" if gender == "男" else "男"


def household_members(rng: random.Random) -> list[Member]:
    """Draw the composition of one household: relations to the head, genders and ages."""
    size = rng.choices(_SIZES, weights=_SIZE_WEIGHTS)[0]
    g = "男" if rng.random() < 0.62 else "女"  # heads are more often men
    if size == 1:
        return [Member("户主", g, rng.randint(20, 88))]
    head_age = rng.randint(24, 80) if size == 2 else rng.randint(27, 58)
    members = [Member("户主", g, head_age)]

    def spouse() -> Member:
        return Member("配偶", _other(g), max(20, head_age + rng.randint(-4, 3)))

    def child() -> Member:
        return Member("子女", rng.choice("男女"), max(0, head_age - rng.randint(22, 36)))

    def parent(gender: str) -> Member:
        return Member("父母", gender, min(100, head_age + rng.randint(22, 34)))

    if size == 2:
        members.append(spouse() if rng.random() < 0.72 else child())
    elif size == 3:
        if rng.random() < 0.8:
            members += [spouse(), child()]
        else:
            members += [spouse(), parent(rng.choice("男女"))]
    elif size == 4:
        if rng.random() < 0.6:
            members += [spouse(), child(), child()]
        else:
            members += [spouse(), child(), parent(rng.choice("男女"))]
    elif size == 5:
        if rng.random() < 0.6:
            members += [spouse(), child(), parent("男"), parent("女")]
        else:
            members += [spouse(), child(), child(), parent(rng.choice("男女"))]
    else:
        members += [spouse(), child(), child(), parent("男"), parent("女")]
    return members
