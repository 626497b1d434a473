"""学习教育: the course catalogue, members' learning records and per-branch totals.

The catalogue is public (titles and hours, nothing personal). A learning record is written by
whoever may change the member's record (gis/party/members.py); totals per 支部 are aggregates,
read by the party-work roles for the branches of their scope.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput
from gis.party import members
from gis.party import vocabulary as v
from gis.queries.households import effective_area, subtree_prefix
from gis.scope import Viewer


def courses(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "code": c.code,
            "title": c.title,
            "category": c.category,
            "category_label": v.COURSE_CATEGORIES[c.category],
            "hours": str(c.hours),
            "published_on": c.published_on.isoformat(),
        }
        for c in session.execute(
            text("SELECT * FROM party_course ORDER BY published_on DESC, code")
        )
    ]


@dataclass(frozen=True)
class LearningInput:
    course_code: str
    finished_on: datetime.date
    hours: Decimal | None = None


def record(session: Session, viewer: Viewer, member_id: int, data: LearningInput) -> dict[str, Any]:
    """A member finished a course: hours default to the course's and may not exceed them."""
    members.not_future(data.finished_on, "finished_on")
    course = session.execute(
        text("SELECT id, hours, published_on FROM party_course WHERE code = :c"),
        {"c": data.course_code},
    ).one_or_none()
    if course is None:
        raise InvalidInput(
            f"no course {data.course_code} in the catalogue", parameter="course_code"
        )
    hours = course.hours if data.hours is None else data.hours
    if not 0 < hours <= course.hours:
        raise InvalidInput(
            f"hours must be above 0 and at most the course's {course.hours}", parameter="hours"
        )
    if data.finished_on < course.published_on:
        raise InvalidInput(
            f"finished_on is before the course was published ({course.published_on})",
            parameter="finished_on",
        )
    members.changeable(session, viewer, member_id)
    inserted = session.execute(
        text(
            "INSERT INTO party_learning_record (member_id, course_id, finished_on, hours,"
            " recorded_by) VALUES (:m, :c, :d, :h, :by)"
            " ON CONFLICT (member_id, course_id) DO NOTHING RETURNING id"
        ),
        {
            "m": member_id,
            "c": course.id,
            "d": data.finished_on,
            "h": hours,
            "by": viewer.username or "",
        },
    ).scalar_one_or_none()
    if inserted is None:
        raise Conflict(
            f"member {member_id} already has course {data.course_code} recorded",
            parameter="course_code",
        )
    return members.profile(session, viewer, member_id)


_TOTALS_SQL = text(
    """
    SELECT o.code, o.name, a.code AS area_code,
           (SELECT count(*) FROM party_member m WHERE m.org_id = o.id) AS members,
           coalesce(sum(l.hours), 0) AS hours,
           count(DISTINCT l.member_id) AS learners,
           (SELECT count(*) FROM (
               SELECT m.id FROM party_member m JOIN party_learning_record x ON x.member_id = m.id
               WHERE m.org_id = o.id AND x.finished_on BETWEEN :start AND :end
               GROUP BY m.id HAVING sum(x.hours) >= :due) d) AS members_meeting_due
    FROM party_org o
    JOIN area a ON a.id = o.area_id
    LEFT JOIN party_member m ON m.org_id = o.id
    LEFT JOIN party_learning_record l ON l.member_id = m.id
         AND l.finished_on BETWEEN :start AND :end
    WHERE o.org_type = :branch AND a.code LIKE :prefix
    GROUP BY o.id, o.code, o.name, a.code
    ORDER BY a.code, o.code
    """
)


def branch_totals(
    session: Session, viewer: Viewer, *, within: str | None, year: int
) -> dict[str, Any]:
    """Per 支部 of the area: learning hours in ``year``, members who learnt, and how many reached
    the yearly hours due (:data:`gis.party.vocabulary.YEARLY_LEARNING_HOURS_DUE`)."""
    members.check_reader(viewer)
    area = effective_area(viewer, within)
    rows = session.execute(
        _TOTALS_SQL,
        {
            "prefix": subtree_prefix(area) + "%",
            "branch": v.BRANCH_TYPE,
            "start": datetime.date(year, 1, 1),
            "end": datetime.date(year, 12, 31),
            "due": v.YEARLY_LEARNING_HOURS_DUE,
        },
    ).all()
    items = [
        {
            "code": r.code,
            "name": r.name,
            "area_code": r.area_code,
            "members": int(r.members),
            "hours": str(r.hours),
            "hours_per_member": None
            if not r.members
            else str(round(Decimal(r.hours) / int(r.members), 1)),
            "learners": int(r.learners),
            "members_meeting_due": int(r.members_meeting_due),
        }
        for r in rows
    ]
    return {
        "within": area,
        "year": year,
        "hours_due_per_member": v.YEARLY_LEARNING_HOURS_DUE,
        "items": items,
    }
