"""群众点单、组织派单、党员接单: service orders on the incident engine.

A resident orders a service; the community's party organisation publishes it; a party member
claims it and must finish within 3 working days; the resident's rating (recorded by the
community) goes to the member, and each member's yearly stars make the 服务之星 ranking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts, audit
from gis.dual import claims as dual_claims
from gis.dual import ranking
from gis.dual.vocabulary import COMMUNITY_ORIGINS, ORIGIN_LABELS
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.incidents.deadlines import deadline_rule, load_calendar
from gis.incidents.workcalendar import deadline
from gis.incidents.workflow import SERVICE_ORDER_WORKFLOW
from gis.masking import mask_name, mask_phone
from gis.scope import Viewer

SERVICE_CATEGORY = "服务订单"


def _actor(viewer: Viewer) -> str:
    return f"{viewer.role}:{viewer.username}" if viewer.username else "群众"


def create_order(
    session: Session,
    viewer: Viewer,
    *,
    service_type: str,
    description: str,
    requester_name: str,
    requester_phone: str | None,
    community_code: str | None,
    lon: float | None,
    lat: float | None,
    now: datetime | None = None,
    origin: str = "resident",
    title: str | None = None,
) -> dict[str, Any]:
    """A resident's order (or, with ``origin``, a community's 双报到 need or post: gis/dual),
    placed in the community given or the one containing the point."""
    now = now or datetime.now(UTC)
    if community_code is not None:
        row = session.execute(
            text(
                "SELECT id, district_code FROM area WHERE level = 'community' "
                "AND valid_to IS NULL AND code = :c"
            ),
            {"c": community_code},
        ).one_or_none()
    elif lon is not None and lat is not None:
        row = session.execute(
            text(
                "SELECT id, district_code FROM area WHERE level = 'community' "
                "AND valid_to IS NULL AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), "
                "4326)) ORDER BY code LIMIT 1"
            ),
            {"x": lon, "y": lat},
        ).one_or_none()
    else:
        raise InvalidInput("give community_code or a point", parameter="community_code")
    if row is None:
        raise InvalidInput("no current community there", parameter="community_code")
    org = session.execute(
        text(
            "SELECT id FROM party_org WHERE level = 'community' AND area_id = :a "
            "ORDER BY id LIMIT 1"
        ),
        {"a": row.id},
    ).scalar_one_or_none()
    new_id = int(
        session.execute(
            text("SELECT nextval(pg_get_serial_sequence('service_order', 'id'))")
        ).scalar_one()
    )
    code = f"FW{now:%Y%m%d}{new_id:07d}"
    session.execute(
        text(
            """
            INSERT INTO service_order (id, code, service_type, description, requester_name,
                requester_phone, community_id, org_id, status, geom, district_code, ordered_at,
                updated_at, origin, title)
            VALUES (:id, :code, :t, :d, :rn, :rp, :c, :org, 'ordered',
                CASE WHEN CAST(:x AS float8) IS NULL THEN NULL
                     ELSE ST_SetSRID(ST_MakePoint(:x, :y), 4326) END,
                :dc, :now, :now, :origin, :title)
            """
        ),
        {
            "id": new_id,
            "code": code,
            "t": service_type,
            "d": description,
            "rn": requester_name,
            "rp": requester_phone,
            "c": row.id,
            "org": org,
            "x": lon,
            "y": lat,
            "dc": row.district_code,
            "now": now,
            "origin": origin,
            "title": title,
        },
    )
    _history(session, new_id, now, _actor(viewer), None, "ordered", ORIGIN_LABELS[origin])
    return get_order(session, viewer, new_id)


def _history(
    session: Session,
    order_id: int,
    at: datetime,
    actor: str,
    frm: str | None,
    to: str,
    note: str | None,
) -> None:
    session.execute(
        text(
            "INSERT INTO service_order_transition (service_order_id, at, actor, from_status, "
            "to_status, note) VALUES (:o, :at, :a, :f, :t, :n)"
        ),
        {"o": order_id, "at": at, "a": actor, "f": frm, "t": to, "n": note},
    )


_SELECT = """
    SELECT o.*, c.code AS community_code, c.name AS community_name,
           r.id AS member_resident_id, r.name AS member_name,
           u.code AS unit_code, u.name AS unit_name, ja.code AS agreement_code,
           ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat
    FROM service_order o
    JOIN area c ON c.id = o.community_id
    LEFT JOIN party_member m ON m.id = o.member_id
    LEFT JOIN resident r ON r.id = m.resident_id
    LEFT JOIN regional_unit u ON u.id = o.unit_id
    LEFT JOIN joint_agreement ja ON ja.id = o.agreement_id
"""


def _present(row: Any, viewer: Viewer) -> dict[str, Any]:
    in_scope = viewer.covers(row.community_code)
    unmask = viewer.unmasks(row.community_code)
    # A need or post is the community's own: its requester is the community, not a person.
    own = row.origin in COMMUNITY_ORIGINS
    return {
        "id": row.id,
        "code": row.code,
        "origin": row.origin,
        "title": row.title,
        "service_type": row.service_type,
        "description": row.description if in_scope or own else None,
        "status": row.status,
        "community_code": row.community_code,
        "community_name": row.community_name,
        "requester": {
            "name": row.requester_name if unmask or own else mask_name(row.requester_name),
            "phone": row.requester_phone if unmask else mask_phone(row.requester_phone),
        },
        "unit": None if row.unit_code is None else {"code": row.unit_code, "name": row.unit_name},
        "letter_code": row.letter_code,
        "agreement_code": row.agreement_code,
        "hours": None if row.hours is None else float(row.hours),
        "community_rating": row.community_rating,
        "community_comment": row.community_comment if in_scope else None,
        "member": None
        if row.member_id is None
        else {
            "id": row.member_id,
            "name": row.member_name if unmask else mask_name(row.member_name),
        },
        "ordered_at": _iso(row.ordered_at),
        "published_at": _iso(row.published_at),
        "claimed_at": _iso(row.claimed_at),
        "due_at": _iso(row.due_at),
        "done_at": _iso(row.done_at),
        "rated_at": _iso(row.rated_at),
        "on_time": None
        if row.done_at is None or row.due_at is None
        else bool(row.done_at <= row.due_at),
        "rating": row.rating,
        "comment": row.comment if in_scope else None,
        "in_scope": in_scope,
        "masked": not unmask,
    }


def _subjects(row: Any, viewer: Viewer) -> list[str]:
    """Whom an order shows unmasked: its requester and the member who claimed it."""
    if not viewer.unmasks(row.community_code):
        return []
    shown = [] if row.origin in COMMUNITY_ORIGINS else [audit.subject("service_order", row.code)]
    if row.member_resident_id is not None:
        shown.append(audit.subject("resident", row.member_resident_id))
    return shown


def get_order(session: Session, viewer: Viewer, order_id: int) -> dict[str, Any]:
    row = session.execute(text(_SELECT + " WHERE o.id = :id"), {"id": order_id}).one_or_none()
    if row is None:
        raise NotFound(f"no service order {order_id}")
    audit.disclose(session, viewer, f"service_order:{row.code}", subjects=_subjects(row, viewer))
    return _present(row, viewer)


def list_orders(
    session: Session,
    viewer: Viewer,
    *,
    community_code: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
    origin: str | None = None,
    member_id: int | None = None,
) -> list[dict[str, Any]]:
    """Orders, newest first; published orders are what members browse to claim."""
    rows = session.execute(
        text(
            _SELECT
            + """
            WHERE (CAST(:c AS text) IS NULL OR c.code = :c)
              AND (CAST(:s AS text) IS NULL OR o.status = :s)
              AND (CAST(:origin AS text) IS NULL OR o.origin = :origin)
              AND (CAST(:member AS bigint) IS NULL OR o.member_id = :member)
            ORDER BY o.ordered_at DESC, o.id DESC LIMIT :lim OFFSET :off
            """
        ),
        {
            "c": community_code,
            "s": status,
            "lim": limit,
            "off": offset,
            "origin": origin,
            "member": member_id,
        },
    ).all()
    shown = [s for r in rows for s in _subjects(r, viewer)]
    audit.disclose(session, viewer, f"service_orders:{community_code or ''}", subjects=shown)
    return [_present(r, viewer) for r in rows]


def _own_member(session: Session, viewer: Viewer) -> int | None:
    """The member record a party member's account acts as; None for other roles.

    A party member claims, reports done and releases orders only as himself: the account's
    linked record (``app_user.member_id``), never a member id from the request.
    """
    if viewer.role != "party_member":
        return None
    own = accounts.member_of_user(session, viewer.user_id)
    if own is None:
        raise Forbidden(
            "your account is not linked to a party-member record; ask the community "
            "secretary to link it"
        )
    return own


def step_order(
    session: Session,
    viewer: Viewer,
    order_id: int,
    to: str,
    *,
    member_id: int | None = None,
    rating: int | None = None,
    comment: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
    action: str | None = None,
    unit_id: int | None = None,
    letter_code: str | None = None,
    hours: float | None = None,
    community_rating: int | None = None,
    community_comment: str | None = None,
) -> dict[str, Any]:
    """Move an order one step (row-locked).

    A claim is made by a party member's account as its own member record (``member_id`` in
    the request may only repeat it): a member registered with (双报到), or belonging to an
    organisation in, the order's community. A need or post (gis/dual) may instead be assigned
    to a unit by letter (``action="assign"``, ``unit_id``); finishing one records ``hours``,
    and its rating has the community's stars besides the residents'.
    """
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to work on service orders")
    row = session.execute(
        text(
            "SELECT o.id, o.status, o.member_id, o.unit_id, o.origin, o.community_id, "
            "c.code AS community_code "
            "FROM service_order o JOIN area c ON c.id = o.community_id WHERE o.id = :id "
            "FOR UPDATE OF o"
        ),
        {"id": order_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no service order {order_id}")
    if not viewer.covers(row.community_code):
        raise Forbidden(f"order {order_id} lies outside your area {viewer.scope_code}")
    step = SERVICE_ORDER_WORKFLOW.check(row.status, to, viewer.role, action=action)
    need = row.origin in COMMUNITY_ORIGINS
    own = _own_member(session, viewer)
    if own is not None and row.status == "claimed" and row.member_id != own:
        raise Forbidden(
            f"order {order_id} was claimed by another party member: only he reports it done "
            "or releases it"
        )
    sets: dict[str, Any] = {"status": to, "updated_at": now}
    if to == "published":
        sets.update(
            published_at=now,
            member_id=None,
            unit_id=None,
            letter_code=None,
            agreement_id=None,
            claimed_at=None,
            due_at=None,
        )
    elif step.name == "assign":
        sets.update(
            dual_claims.assignment(
                session, row.id, row.origin, row.community_id, unit_id, letter_code, now
            ),
            claimed_at=now,
        )
    elif to == "claimed":
        if own is None:
            raise Forbidden(
                "your account is not linked to a party-member record; ask the community "
                "secretary to link it before claiming orders"
            )
        if member_id is not None and member_id != own:
            raise Forbidden(
                f"you claim as yourself (party member {own}), not as member {member_id}",
            )
        member = own
        ok = session.execute(
            text(
                """
                SELECT 1 FROM party_member m LEFT JOIN party_org o ON o.id = m.org_id
                LEFT JOIN area a ON a.id = o.area_id
                WHERE m.id = :m AND (m.registered_community_id = :c
                    OR a.id = :c OR o.area_id IN (SELECT id FROM area WHERE parent_id = :c)
                    OR o.building_id IN (SELECT b.id FROM building b JOIN area g ON g.id = b.grid_id
                                         WHERE g.parent_id = :c))
                """
            ),
            {"m": member, "c": row.community_id},
        ).first()
        if ok is None:
            raise InvalidInput(
                f"party member {member} is not registered with this community",
                parameter="member_id",
            )
        rule = deadline_rule(session, "服务订单")
        sets.update(
            member_id=member,
            claimed_at=now,
            due_at=deadline(
                now, rule.handle, load_calendar(session), calendar_time=rule.calendar_time
            ),
        )
    elif to == "done":
        dual_claims.check_doer(step.name, row.unit_id)
        sets["done_at"] = now
        if need or hours is not None:
            sets["hours"] = dual_claims.checked_hours(hours)
    elif to == "rated":
        if rating is None or not 1 <= rating <= 5:
            raise InvalidInput("a rating from 1 to 5 stars is required", parameter="rating")
        sets.update(rating=rating, comment=comment, rated_at=now)
        if need:
            if community_rating is None or not 1 <= community_rating <= 5:
                raise InvalidInput(
                    "a need or post is rated by the residents and by the community: give "
                    "community_rating, 1 to 5 stars",
                    parameter="community_rating",
                )
            sets.update(community_rating=community_rating, community_comment=community_comment)
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE service_order SET {assignments} WHERE id = :id"),
        {**sets, "id": order_id},
    )
    _history(session, order_id, now, _actor(viewer), row.status, to, note)
    return get_order(session, viewer, order_id)


def star_ranking(
    session: Session, viewer: Viewer, year: int, *, within: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """服务之星: members by stars received in ``year`` (the rule is gis.dual.ranking's)."""
    return [
        {"member_id": r["id"], **{k: v for k, v in r.items() if k not in ("id", "code")}}
        for r in ranking.ranking(session, viewer, year, doer="member", within=within, limit=limit)
    ]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
