"""Who may take on a 双报到 need or post, and what finishing one records.

Called by the service-order step (gis/queries/service_orders.py), which owns the row lock and
the workflow; this module owns the 双报到 rules of that step: the unit a need is assigned to by
letter (函) and the hours a finished need records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.dual.vocabulary import COMMUNITY_ORIGINS, MAX_HOURS
from gis.errors import Conflict, Forbidden, InvalidInput

# A unit may take a community's need when it reports to the community (双报到) or has an
# agreement with it (共建协议) in force: the agreement in force is linked to the project.
_UNIT_FOR_COMMUNITY = text(
    """
    SELECT u.id, u.name, u.registered_community_id = :c AS registered,
           (SELECT ja.id FROM joint_agreement ja
             WHERE ja.unit_id = u.id AND ja.community_id = :c
               AND ja.starts_on <= CAST(:today AS date) AND ja.ends_on >= CAST(:today AS date)
             ORDER BY ja.ends_on DESC LIMIT 1) AS agreement_id
    FROM regional_unit u WHERE u.id = :u
    """
)


def assignment(
    session: Session,
    order_id: int,
    origin: str,
    community_id: int,
    unit_id: int | None,
    letter_code: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a need assigned to a unit by letter (发函): unit, letter, agreement."""
    if origin not in COMMUNITY_ORIGINS:
        raise InvalidInput(
            "only a community's need or post is assigned to a unit; a resident's order is "
            "claimed by a party member",
            parameter="action",
        )
    if unit_id is None:
        raise InvalidInput("an assignment by letter needs unit_id", parameter="unit_id")
    row = session.execute(
        _UNIT_FOR_COMMUNITY, {"u": unit_id, "c": community_id, "today": now.date()}
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"there is no unit {unit_id}", parameter="unit_id")
    if not row.registered and row.agreement_id is None:
        raise InvalidInput(
            f"the unit {row.name} neither reports to this community (双报到) nor has a joint-"
            "building agreement (共建协议) with it in force",
            parameter="unit_id",
        )
    if (
        letter_code is not None
        and session.execute(
            text("SELECT 1 FROM service_order WHERE letter_code = :l"), {"l": letter_code}
        ).first()
    ):
        raise Conflict(f"the letter {letter_code} was already sent", parameter="letter_code")
    return {
        "unit_id": unit_id,
        "member_id": None,
        "agreement_id": row.agreement_id,
        "letter_code": letter_code or f"HZ{now:%Y}-{order_id:06d}",
    }


def check_doer(step_name: str, unit_id: int | None) -> None:
    """A member reports his own work done; a unit's project is recorded done by the community."""
    if unit_id is not None and step_name != "unit_done":
        raise Forbidden(
            "this need was assigned to a unit: the community records its completion "
            "(action unit_done)"
        )
    if unit_id is None and step_name == "unit_done":
        raise InvalidInput(
            "this need was claimed by a member, who reports it done himself", parameter="action"
        )


def checked_hours(hours: float | None) -> float:
    """The service hours a finished need or post records (more than 0, at most MAX_HOURS)."""
    if hours is None:
        raise InvalidInput(
            "a finished need or post records its service hours (hours)", parameter="hours"
        )
    if not 0 < hours <= MAX_HOURS or round(hours, 1) != hours:
        raise InvalidInput(
            f"hours must be more than 0 and at most {MAX_HOURS}, in tenths", parameter="hours"
        )
    return hours
