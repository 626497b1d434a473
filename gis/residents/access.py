"""Who does what in serving residents, and the resident who acts (link now, account later).

Staff roles (docs/residents.md, "Who does what"): notices are published by the secretaries and
grid chiefs for an area of their scope; applications are handled by the community office and
above; volunteer activities are organised by the secretaries, grid chiefs and party instructors;
the care list is for the roles that visit households. Everything is limited to the viewer's
subtree, and residents' names are personal data shown by the disclosure rule (masked without a
stated purpose, exact with one in scope, and every exact answer audited).

A resident acts as a :class:`ResidentActor`, from a signed link
(:func:`gis.residents.links.resolve`, ``via="link"``) or from his own resident account
(:func:`actor_for_account`, ``via="account"``); the writers do not care which.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.errors import Forbidden, NotFound
from gis.masking import Exposure, exposure, show_name
from gis.scope import PERSONAL_DATA_ROLES, Viewer

NOTICE_PUBLISHERS = frozenset(
    {"admin", "district_secretary", "street_secretary", "community_secretary", "grid_chief"}
)
STAFF_READERS = PERSONAL_DATA_ROLES
SERVICE_HANDLERS = frozenset(
    {"admin", "district_secretary", "street_secretary", "community_secretary"}
)
VOLUNTEER_ORGANISERS = frozenset(
    {
        "admin",
        "district_secretary",
        "street_secretary",
        "community_secretary",
        "grid_chief",
        "party_instructor",
    }
)
CARE_READERS = frozenset(
    {
        "admin",
        "district_secretary",
        "street_secretary",
        "community_secretary",
        "grid_chief",
        "grid_worker",
    }
)
# Issuing a resident's link lets its holder act as him: the roles that meet residents.
LINK_ISSUERS = CARE_READERS


def check_role(viewer: Viewer, roles: frozenset[str], what: str) -> None:
    if viewer.role not in roles:
        raise Forbidden(
            f"the role {viewer.role} may not {what}; roles that may: " + ", ".join(sorted(roles))
        )


def check_area(viewer: Viewer, code: str, parameter: str = "area_code") -> None:
    """An area the viewer may act on: one of its subtree."""
    if not viewer.covers(code):
        raise Forbidden(
            f"the area {code} is outside your scope {viewer.scope_code}", parameter=parameter
        )


def street_of(community_code: str) -> str:
    """The street of a community (12 digits, the last three 000).

    >>> street_of("620881001002")
    '620881001000'
    """
    return community_code[:9] + "000"


# Where a resident lives, joined after ``resident r``: ``g.code`` is his grid (the disclosure
# rule's area), ``h`` his household.
HOME_GRID_JOIN = (
    " JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id"
    " JOIN area g ON g.id = b.grid_id"
)


def shown_name(
    viewer: Viewer, resident_id: int, name: str | None, grid_code: str, shown: list[str]
) -> tuple[str | None, Exposure]:
    """A resident's name as ``viewer`` may see it; an exact one is added to ``shown`` (the
    subjects the response's ``audit.disclose`` must name)."""
    level = exposure(viewer, grid_code)
    if level is Exposure.EXACT:
        shown.append(audit.subject("resident", resident_id))
    return show_name(name, level), level


@dataclass(frozen=True)
class ResidentActor:
    """A resident acting for himself: who, where he lives, and how he was identified."""

    resident_id: int
    household_id: int
    household_code: str
    name: str
    grid_code: str
    special_groups: tuple[str, ...]
    via: str

    @property
    def community_code(self) -> str:
        return self.grid_code[:12]

    @property
    def street_code(self) -> str:
        return street_of(self.community_code)

    @property
    def label(self) -> str:
        """How history rows name him (never by name)."""
        return f"resident:{self.resident_id}:{self.via}"


_RESIDENT_SQL = text(
    """
    SELECT r.id, r.household_id, h.code AS household_code, r.name, g.code AS grid_code,
           (SELECT coalesce(array_agg(DISTINCT x), '{}') FROM resident o,
                   unnest(o.special_groups) x WHERE o.household_id = r.household_id) AS groups
    FROM resident r """
    + HOME_GRID_JOIN
    + """
    WHERE r.id = :id
    """
)


def actor_for_resident(session: Session, resident_id: int, via: str) -> ResidentActor:
    """The actor of resident ``resident_id`` (a link's or, later, an account's resident)."""
    row = session.execute(_RESIDENT_SQL, {"id": resident_id}).one_or_none()
    if row is None:
        raise NotFound("this resident is no longer registered; ask the community for a new link")
    return ResidentActor(
        int(row.id),
        int(row.household_id),
        str(row.household_code),
        str(row.name),
        str(row.grid_code),
        tuple(sorted(row.groups)),
        via,
    )


def resident_area(session: Session, resident_id: int) -> str:
    """The grid a resident lives in (for scope checks by staff); NotFound if none."""
    code = session.execute(
        text("SELECT g.code FROM resident r" + HOME_GRID_JOIN + " WHERE r.id = :id"),
        {"id": resident_id},
    ).scalar_one_or_none()
    if code is None:
        raise NotFound(f"no resident {resident_id}", parameter="resident_id")
    return str(code)


def actor_for_account(session: Session, viewer: Viewer) -> ResidentActor:
    """The resident a signed-in resident's account is tied to (``app_user.resident_id``).

    Only resident accounts tied to a person act here: a household-only account (created before
    the person was named) is told to ask the community office to name him."""
    household = accounts.resident_household(session, viewer.user_id)
    if household is None:
        raise Forbidden("only a resident's own account acts here; staff use the staff desk")
    if household.resident_id is None:
        raise Forbidden(
            "your account belongs to your household but names no person; ask the community "
            "office to link it to you"
        )
    return actor_for_resident(session, household.resident_id, "account")
