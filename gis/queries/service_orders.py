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
) -> dict[str, Any]:
    """A resident's order, placed in the community given or the one containing the point."""
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
                updated_at)
            VALUES (:id, :code, :t, :d, :rn, :rp, :c, :org, 'ordered',
                CASE WHEN CAST(:x AS float8) IS NULL THEN NULL
                     ELSE ST_SetSRID(ST_MakePoint(:x, :y), 4326) END,
                :dc, :now, :now)
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
        },
    )
    _history(session, new_id, now, _actor(viewer), None, "ordered", "群众点单")
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
           ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat
    FROM service_order o
    JOIN area c ON c.id = o.community_id
    LEFT JOIN party_member m ON m.id = o.member_id
    LEFT JOIN resident r ON r.id = m.resident_id
"""


def _present(row: Any, viewer: Viewer) -> dict[str, Any]:
    in_scope = viewer.covers(row.community_code)
    unmask = viewer.unmasks(row.community_code)
    return {
        "id": row.id,
        "code": row.code,
        "service_type": row.service_type,
        "description": row.description if in_scope else None,
        "status": row.status,
        "community_code": row.community_code,
        "community_name": row.community_name,
        "requester": {
            "name": row.requester_name if unmask else mask_name(row.requester_name),
            "phone": row.requester_phone if unmask else mask_phone(row.requester_phone),
        },
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
        "on_time": None if row.done_at is None else bool(row.done_at <= row.due_at),
        "rating": row.rating,
        "comment": row.comment if in_scope else None,
        "in_scope": in_scope,
        "masked": not unmask,
    }


def _subjects(row: Any, viewer: Viewer) -> list[str]:
    """Whom an order shows unmasked: its requester and the member who claimed it."""
    if not viewer.unmasks(row.community_code):
        return []
    shown = [audit.subject("service_order", row.code)]
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
) -> list[dict[str, Any]]:
    """Orders, newest first; published orders are what members browse to claim."""
    rows = session.execute(
        text(
            _SELECT
            + """
            WHERE (CAST(:c AS text) IS NULL OR c.code = :c)
              AND (CAST(:s AS text) IS NULL OR o.status = :s)
            ORDER BY o.ordered_at DESC, o.id DESC LIMIT :lim OFFSET :off
            """
        ),
        {"c": community_code, "s": status, "lim": limit, "off": offset},
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
) -> dict[str, Any]:
    """Move an order one step (row-locked).

    A claim is made by a party member's account as its own member record (``member_id`` in
    the request may only repeat it): a member registered with (双报到), or belonging to an
    organisation in, the order's community.
    """
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in to work on service orders")
    row = session.execute(
        text(
            "SELECT o.id, o.status, o.member_id, o.community_id, c.code AS community_code "
            "FROM service_order o JOIN area c ON c.id = o.community_id WHERE o.id = :id "
            "FOR UPDATE OF o"
        ),
        {"id": order_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no service order {order_id}")
    if not viewer.covers(row.community_code):
        raise Forbidden(f"order {order_id} lies outside your area {viewer.scope_code}")
    SERVICE_ORDER_WORKFLOW.check(row.status, to, viewer.role)
    own = _own_member(session, viewer)
    if own is not None and row.status == "claimed" and row.member_id != own:
        raise Forbidden(
            f"order {order_id} was claimed by another party member: only he reports it done "
            "or releases it"
        )
    sets: dict[str, Any] = {"status": to, "updated_at": now}
    if to == "published":
        sets.update(published_at=now, member_id=None, claimed_at=None, due_at=None)
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
        sets["done_at"] = now
    elif to == "rated":
        if rating is None or not 1 <= rating <= 5:
            raise InvalidInput("a rating from 1 to 5 stars is required", parameter="rating")
        sets.update(rating=rating, comment=comment, rated_at=now)
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
    """服务之星: members by stars received in ``year`` (China time), then orders, then mean."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("year must be between 2000 and 2100", parameter="year")
    rows = session.execute(
        text(
            """
            SELECT o.member_id, r.id AS resident_id, r.name, count(*) AS orders,
                   sum(o.rating) AS stars,
                   avg(o.rating)::float8 AS mean_rating,
                   count(*) FILTER (WHERE o.done_at <= o.due_at) AS on_time,
                   min(c.code) AS community_code
            FROM service_order o
            JOIN party_member m ON m.id = o.member_id
            JOIN resident r ON r.id = m.resident_id
            JOIN area c ON c.id = o.community_id
            WHERE o.status = 'rated'
              AND o.rated_at >= make_timestamptz(:y, 1, 1, 0, 0, 0, 'Asia/Shanghai')
              AND o.rated_at < make_timestamptz(:y + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai')
              AND (CAST(:w AS text) IS NULL OR c.code LIKE :w || '%')
            GROUP BY o.member_id, r.id, r.name
            ORDER BY stars DESC, orders DESC, mean_rating DESC, o.member_id
            LIMIT :lim
            """
        ),
        {"y": year, "w": within, "lim": limit},
    ).all()
    shown = [
        audit.subject("resident", r.resident_id) for r in rows if viewer.unmasks(r.community_code)
    ]
    audit.disclose(session, viewer, f"service_stars:{year}:{within or ''}", subjects=shown)
    return [
        {
            "rank": i + 1,
            "member_id": r.member_id,
            # A public honour roll shows the name masked unless the disclosure rule allows it.
            "name": r.name if viewer.unmasks(r.community_code) else mask_name(r.name),
            "orders": r.orders,
            "stars": int(r.stars),
            "mean_rating": round(r.mean_rating, 3),
            "on_time": r.on_time,
        }
        for i, r in enumerate(rows)
    ]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
