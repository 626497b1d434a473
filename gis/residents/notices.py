"""Notices to residents (居民通知): the one writer of notices and receipts, and the readers.

A notice goes to an area — a street, a community or a grid — or to the households of one
special group within it (e.g. 独居老人 of a community). Its audience is counted in households:
a household has read a notice when one of its residents confirmed it (已读回执). Notices to a
whole area appear on the community's public board; a group notice never does (that the notice
exists says who lives where), it reaches its households only through their residents' links.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit, special_groups
from gis.errors import InvalidInput, NotFound
from gis.masking import Exposure
from gis.queries.households import effective_area, subtree_prefix
from gis.residents import vocabulary
from gis.residents.access import (
    HOME_GRID_JOIN,
    NOTICE_PUBLISHERS,
    STAFF_READERS,
    ResidentActor,
    check_area,
    check_role,
    shown_name,
)
from gis.scope import Viewer

TITLE_MAX = 100
BODY_MAX = 5000
MAX_LIMIT = 200
NOTICE_LEVELS = ("street", "community", "grid")

# Households a notice reaches: in the area's subtree, and with a resident of the group if any.
_AUDIENCE = """
    (SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id
       JOIN area g ON g.id = b.grid_id
      WHERE g.code LIKE n.prefix
        AND (n.special_group IS NULL OR EXISTS (
             SELECT 1 FROM resident r WHERE r.household_id = h.id
                AND n.special_group = ANY (r.special_groups)))) AS households,
    (SELECT count(DISTINCT r.household_id) FROM notice_receipt x
       JOIN resident r ON r.id = x.resident_id WHERE x.notice_id = n.id) AS households_read,
    (SELECT count(*) FROM notice_receipt x WHERE x.notice_id = n.id) AS receipts
"""
_NOTICE_ROWS = """
    SELECT n.*, {audience}
    FROM (SELECT notice.*,
                 CASE WHEN length(area_code) = 12 AND right(area_code, 3) = '000'
                      THEN left(area_code, 9) ELSE area_code END || '%' AS prefix
          FROM notice) n
"""


def _notice_sql(where: str, tail: str = "") -> Any:
    return text(_NOTICE_ROWS.format(audience=_AUDIENCE) + " WHERE " + where + " " + tail)


@dataclass(frozen=True)
class NoticeInput:
    title: str
    body: str
    category: str
    area_code: str
    special_group: str | None = None
    expires_on: datetime.date | None = None

    def validate(self, today: datetime.date) -> None:
        """Field checks that need no database; each failure says what to fix."""
        if not 1 <= len(self.title.strip()) <= TITLE_MAX:
            raise InvalidInput(f"title needs 1 to {TITLE_MAX} characters", parameter="title")
        if not 1 <= len(self.body.strip()) <= BODY_MAX:
            raise InvalidInput(f"body needs 1 to {BODY_MAX} characters", parameter="body")
        if self.category not in vocabulary.NOTICE_CATEGORIES:
            raise InvalidInput(
                "category must be one of " + ", ".join(vocabulary.NOTICE_CATEGORIES),
                parameter="category",
            )
        if self.special_group is not None and (
            self.special_group not in special_groups.SPECIAL_GROUPS
        ):
            raise InvalidInput(
                "special_group must be one of " + ", ".join(special_groups.SPECIAL_GROUPS),
                parameter="special_group",
            )
        if self.expires_on is not None and self.expires_on < today:
            raise InvalidInput(
                f"expires_on {self.expires_on} is in the past", parameter="expires_on"
            )


def _public(row: Any, lang: str = "zh-CN") -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "category": row.category,
        "category_label": vocabulary.label(vocabulary.NOTICE_CATEGORIES, row.category, lang),
        "area_code": row.area_code,
        "published_at": row.published_at.isoformat(),
        "expires_on": row.expires_on.isoformat() if row.expires_on else None,
    }


def _staff(row: Any) -> dict[str, Any]:
    return {
        **_public(row),
        "special_group": row.special_group,
        "special_group_label": (
            special_groups.label(row.special_group) if row.special_group else None
        ),
        "published_by": row.published_by,
        "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
        "households": int(row.households),
        "households_read": int(row.households_read),
        "receipts": int(row.receipts),
    }


def publish(
    session: Session, viewer: Viewer, data: NoticeInput, *, today: datetime.date
) -> dict[str, Any]:
    """Publish a notice to an area of the viewer's scope (or a group within it)."""
    check_role(viewer, NOTICE_PUBLISHERS, "publish notices")
    data.validate(today)
    level = session.execute(
        text("SELECT level FROM area WHERE code = :c AND valid_to IS NULL"),
        {"c": data.area_code},
    ).scalar_one_or_none()
    if level not in NOTICE_LEVELS:
        raise InvalidInput(
            f"{data.area_code} is not a current street, community or grid",
            parameter="area_code",
        )
    check_area(viewer, data.area_code)
    new_id = session.execute(
        text(
            "INSERT INTO notice (title, body, category, area_code, special_group, published_by,"
            " expires_on) VALUES (:title, :body, :category, :area, :group, :by, :expires)"
            " RETURNING id"
        ),
        {
            "title": data.title.strip(),
            "body": data.body.strip(),
            "category": data.category,
            "area": data.area_code,
            "group": data.special_group,
            "by": viewer.username,
            "expires": data.expires_on,
        },
    ).scalar_one()
    return notice(session, viewer, int(new_id))


def list_notices(
    session: Session, viewer: Viewer, *, within: str | None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Notices to areas in (or above) the viewer's area, newest first, with read counts."""
    check_role(viewer, STAFF_READERS, "read notices with their receipts")
    area = effective_area(viewer, within)
    rows = session.execute(
        _notice_sql(
            "(n.area_code LIKE :prefix OR :area LIKE n.prefix)",
            "ORDER BY n.published_at DESC, n.id DESC LIMIT :limit OFFSET :offset",
        ),
        {"prefix": subtree_prefix(area) + "%", "area": area, "limit": limit, "offset": offset},
    ).all()
    return {"within": area, "items": [_staff(r) for r in rows], "limit": limit, "offset": offset}


def _in_scope(session: Session, viewer: Viewer, notice_id: int) -> Any:
    check_role(viewer, STAFF_READERS, "read notices with their receipts")
    row = session.execute(_notice_sql("n.id = :id"), {"id": notice_id}).one_or_none()
    if row is None or not (
        viewer.covers(row.area_code) or (viewer.scope_code or "").startswith(row.prefix[:-1])
    ):
        raise NotFound(f"no notice {notice_id} in your scope", parameter="notice_id")
    return row


def notice(session: Session, viewer: Viewer, notice_id: int) -> dict[str, Any]:
    """One notice with who confirmed it in the viewer's area (names by the disclosure rule)."""
    row = _in_scope(session, viewer, notice_id)
    readers = session.execute(
        text(
            "SELECT x.resident_id, x.read_at, x.via, r.name, h.code AS household_code,"
            " g.code AS grid_code FROM notice_receipt x JOIN resident r ON r.id = x.resident_id"
            + HOME_GRID_JOIN
            + " WHERE x.notice_id = :id AND g.code LIKE :scope"
            " ORDER BY x.read_at, x.resident_id"
        ),
        {"id": notice_id, "scope": viewer.scope_like},
    ).all()
    shown: list[str] = []
    receipts = []
    for r in readers:
        name, level = shown_name(viewer, r.resident_id, r.name, r.grid_code, shown)
        receipts.append(
            {
                "resident_id": r.resident_id,
                "name": name,
                "household": r.household_code if level is not Exposure.GENERALISED else None,
                "grid_code": r.grid_code,
                "read_at": r.read_at.isoformat(),
                "via": r.via,
                "masked": level is not Exposure.EXACT,
            }
        )
    audit.disclose(session, viewer, f"notice:{notice_id}", subjects=shown, area_code=row.area_code)
    return {**_staff(row), "read_by": receipts}


def withdraw(session: Session, viewer: Viewer, notice_id: int) -> dict[str, Any]:
    """Take a notice off the board and the residents' lists (it stays on record)."""
    check_role(viewer, NOTICE_PUBLISHERS, "withdraw notices")
    row = _in_scope(session, viewer, notice_id)
    check_area(viewer, row.area_code, "notice_id")
    session.execute(
        text(
            "UPDATE notice SET withdrawn_at = coalesce(withdrawn_at, now()),"
            " withdrawn_by = coalesce(withdrawn_by, :by) WHERE id = :id"
        ),
        {"id": notice_id, "by": viewer.username},
    )
    return notice(session, viewer, notice_id)


_LIVE = "n.withdrawn_at IS NULL AND (n.expires_on IS NULL OR n.expires_on >= :today)"


def board(
    session: Session, community_code: str, *, today: datetime.date, lang: str = "zh-CN"
) -> dict[str, Any]:
    """The public notice board of a community: live notices to it, its street and its grids
    (never a group notice)."""
    community = session.execute(
        text(
            "SELECT code, name FROM area WHERE code = :c AND level = 'community'"
            " AND valid_to IS NULL"
        ),
        {"c": community_code},
    ).one_or_none()
    if community is None:
        raise NotFound(f"no community {community_code}", parameter="code")
    rows = session.execute(
        text(
            "SELECT n.* FROM notice n WHERE " + _LIVE + " AND n.special_group IS NULL"
            " AND (n.area_code = :street OR n.area_code LIKE :community)"
            " ORDER BY n.published_at DESC, n.id DESC LIMIT 100"
        ),
        {
            "today": today,
            "street": community_code[:9] + "000",
            "community": community_code + "%",
        },
    ).all()
    return {
        "community": {"code": community.code, "name": community.name},
        "items": [_public(r, lang) for r in rows],
    }


def for_resident(
    session: Session, actor: ResidentActor, *, today: datetime.date, lang: str = "zh-CN"
) -> list[dict[str, Any]]:
    """The live notices addressed to a resident's household, with whether he confirmed each."""
    rows = session.execute(
        text(
            "SELECT n.*, x.read_at FROM notice n LEFT JOIN notice_receipt x"
            " ON x.notice_id = n.id AND x.resident_id = :resident WHERE "
            + _LIVE
            + " AND n.area_code = ANY (:areas)"
            " AND (n.special_group IS NULL OR n.special_group = ANY (:groups))"
            " ORDER BY n.published_at DESC, n.id DESC LIMIT 100"
        ),
        {
            "today": today,
            "resident": actor.resident_id,
            "areas": [actor.street_code, actor.community_code, actor.grid_code],
            "groups": list(actor.special_groups),
        },
    ).all()
    return [
        {
            **_public(r, lang),
            "to_group": r.special_group,
            "read_at": r.read_at.isoformat() if r.read_at else None,
        }
        for r in rows
    ]


def confirm_read(
    session: Session, actor: ResidentActor, notice_id: int, *, today: datetime.date
) -> dict[str, Any]:
    """The resident confirms he read a notice addressed to him (once; a repeat changes nothing)."""
    addressed = {n["id"]: n for n in for_resident(session, actor, today=today)}
    if notice_id not in addressed:
        raise NotFound(f"no notice {notice_id} addressed to you", parameter="notice_id")
    session.execute(
        text(
            "INSERT INTO notice_receipt (notice_id, resident_id, via) VALUES (:n, :r, :via)"
            " ON CONFLICT (notice_id, resident_id) DO NOTHING"
        ),
        {"n": notice_id, "r": actor.resident_id, "via": actor.via},
    )
    read_at = session.execute(
        text("SELECT read_at FROM notice_receipt WHERE notice_id = :n AND resident_id = :r"),
        {"n": notice_id, "r": actor.resident_id},
    ).scalar_one()
    return {**addressed[notice_id], "read_at": read_at.isoformat()}
