"""双报到 registration: an in-service member (在职党员), or a unit's party organisation, reports to
the community where he lives or with which it is paired. The columns are the foundation's
``party_member.registered_community_id/registered_on`` and migration 0034's on ``regional_unit``.

Registering is the community's act (its organisers, in their scope): the member or unit reports,
the community accepts and records it.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.workflow import ORDER_ORGANISER_ROLES
from gis.masking import mask_name
from gis.scope import Viewer


def check_organiser(viewer: Viewer, community_code: str) -> None:
    """Only the community's organisers (secretary, party instructor, admin) in their scope."""
    if viewer.role not in ORDER_ORGANISER_ROLES:
        raise Forbidden(
            f"a {viewer.role} does not organise 双报到; roles that do: "
            + ", ".join(sorted(ORDER_ORGANISER_ROLES))
        )
    if not viewer.covers(community_code):
        raise Forbidden(f"the community {community_code} is outside your scope {viewer.scope_code}")


def community_id(session: Session, code: str) -> int:
    found = session.execute(
        text("SELECT id FROM area WHERE level = 'community' AND valid_to IS NULL AND code = :c"),
        {"c": code},
    ).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"there is no current community {code}", parameter="community_code")
    return int(found)


def _check_date(on: datetime.date, today: datetime.date) -> None:
    if on > today:
        raise InvalidInput("registered_on cannot be in the future", parameter="registered_on")


def register_member(
    session: Session,
    viewer: Viewer,
    member_id: int,
    community_code: str,
    registered_on: datetime.date,
    today: datetime.date,
) -> dict[str, Any]:
    """Record that an in-service member reported to ``community_code`` on ``registered_on``."""
    check_organiser(viewer, community_code)
    _check_date(registered_on, today)
    target = community_id(session, community_code)
    row = session.execute(
        text(
            "SELECT m.id, m.in_service, r.id AS resident_id, r.name FROM party_member m"
            " JOIN resident r ON r.id = m.resident_id WHERE m.id = :m FOR UPDATE OF m"
        ),
        {"m": member_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"there is no party member {member_id}")
    if not row.in_service:
        raise InvalidInput(
            "only in-service members (在职党员) report to a community (双报到); this member is "
            "not in service",
            parameter="member_id",
        )
    session.execute(
        text(
            "UPDATE party_member SET registered_community_id = :c, registered_on = :on"
            " WHERE id = :m"
        ),
        {"c": target, "on": registered_on, "m": member_id},
    )
    unmask = viewer.unmasks(community_code)
    if unmask:
        audit.disclose(
            session,
            viewer,
            f"dual_registration:{member_id}",
            subjects=[audit.subject("resident", row.resident_id)],
        )
    return {
        "member_id": member_id,
        "name": row.name if unmask else mask_name(row.name),
        "community_code": community_code,
        "registered_on": registered_on.isoformat(),
    }


def register_unit(
    session: Session,
    viewer: Viewer,
    unit_code: str,
    community_code: str,
    registered_on: datetime.date,
    today: datetime.date,
) -> dict[str, Any]:
    """Record that a unit's party organisation reported to ``community_code``."""
    check_organiser(viewer, community_code)
    _check_date(registered_on, today)
    target = community_id(session, community_code)
    row = session.execute(
        text("SELECT id, name, party_org_name FROM regional_unit WHERE code = :c FOR UPDATE"),
        {"c": unit_code},
    ).one_or_none()
    if row is None:
        raise NotFound(f"there is no unit {unit_code}")
    if row.party_org_name is None:
        raise InvalidInput(
            f"the unit {row.name} has no party organisation of its own to report (双报到 is a "
            "party organisation's registration)",
            parameter="unit_code",
        )
    session.execute(
        text(
            "UPDATE regional_unit SET registered_community_id = :c, registered_on = :on"
            " WHERE id = :u"
        ),
        {"c": target, "on": registered_on, "u": row.id},
    )
    return {
        "unit_code": unit_code,
        "name": row.name,
        "party_org_name": row.party_org_name,
        "community_code": community_code,
        "registered_on": registered_on.isoformat(),
    }
