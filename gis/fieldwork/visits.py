"""Household visits (入户走访): record, list (notes masked, disclosure audited) and coverage.

Notes and the people met are personal data: shown only where the disclosure rule
(``Viewer.unmasks``) lets them through, and every response that shows them writes one audit row
naming the households, in the request's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.errors import InvalidInput, NotFound
from gis.fieldwork import access
from gis.incidents.vocabulary import VISIT_PURPOSES
from gis.scope import Viewer

MASKED_TEXT = "***"
Period = Literal["month", "quarter"]
# Months and quarters are the city's (China Standard Time), not UTC's.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def create_visit(
    session: Session,
    viewer: Viewer,
    *,
    building_id: int,
    household_id: int | None,
    purpose: str,
    household_code: str | None = None,
    notes: str = "",
    people_met: str = "",
    lon: float | None = None,
    lat: float | None = None,
    accuracy_m: float | None = None,
    client_id: str | None = None,
    visited_at: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record a visit to a building (or one household in it) of the viewer's scope.

    The household is named by id or by code (what the households list shows), not both.
    With ``client_id`` a repeated request returns the first visit (created False).
    """
    user_id = access.require_recorder(viewer)
    if purpose not in VISIT_PURPOSES:
        raise InvalidInput(
            f"purpose must be one of {', '.join(VISIT_PURPOSES)}", parameter="purpose"
        )
    if len(notes) > 4000:
        raise InvalidInput("notes have at most 4000 characters", parameter="notes")
    if len(people_met) > 500:
        raise InvalidInput("people_met has at most 500 characters", parameter="people_met")
    if (lon is None) != (lat is None) or (
        lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        raise InvalidInput("send lon and lat together, in WGS84 ranges", parameter="lat")
    now = datetime.now(UTC)
    visited_at = visited_at or now
    if visited_at.tzinfo is None or visited_at > now + timedelta(minutes=5):
        raise InvalidInput(
            "visited_at needs a time zone and may not lie in the future", parameter="visited_at"
        )
    if client_id is not None:
        earlier = session.execute(
            text("SELECT id FROM household_visit WHERE user_id = :u AND client_id = :c"),
            {"u": user_id, "c": client_id},
        ).scalar_one_or_none()
        if earlier is not None:
            return _created(session, int(earlier)), False
    if household_id is not None and household_code is not None:
        raise InvalidInput("name the household by id or by code, not both", parameter="household")
    place = session.execute(
        text(
            "SELECT g.code AS grid_code, h.id AS household_id FROM building b"
            " JOIN area g ON g.id = b.grid_id"
            " LEFT JOIN household h ON h.building_id = b.id AND (h.id = :h OR h.code = :hc)"
            " WHERE b.id = :b AND b.valid_to IS NULL"
        ),
        {"b": building_id, "h": household_id, "hc": household_code},
    ).one_or_none()
    if place is None or not viewer.covers(place.grid_code):
        raise NotFound(f"no building {building_id} in your scope")
    named = household_id if household_id is not None else household_code
    if named is not None and place.household_id is None:
        raise InvalidInput(
            f"household {named} is not in building {building_id}",
            parameter="household_id" if household_id is not None else "household_code",
        )
    household_id = place.household_id
    visit_id = session.execute(
        text(
            """
            INSERT INTO household_visit (user_id, worker, building_id, household_id, grid_code,
                visited_at, purpose, notes, people_met, geom, accuracy_m, client_id)
            VALUES (:u, :worker, :b, :h, :g, :at, :purpose, :notes, :people,
                   CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
                   :acc, :client)
            ON CONFLICT (user_id, client_id) DO NOTHING
            RETURNING id
            """
        ),
        {
            "u": user_id,
            "worker": viewer.username,
            "b": building_id,
            "h": household_id,
            "g": place.grid_code,
            "at": visited_at,
            "purpose": purpose,
            "notes": notes.strip(),
            "people": people_met.strip(),
            "lon": lon,
            "lat": lat,
            "acc": accuracy_m,
            "client": client_id,
        },
    ).scalar_one_or_none()
    if visit_id is None:  # a concurrent request with the same client id won
        raise InvalidInput("this client_id is being recorded already; retry", parameter="client_id")
    return _created(session, int(visit_id)), True


def _created(session: Session, visit_id: int) -> dict[str, Any]:
    """What the recorder gets back: the visit without its notes (he just wrote them)."""
    row = session.execute(
        text(
            "SELECT id, grid_code, building_id, household_id, visited_at, purpose"
            " FROM household_visit WHERE id = :id"
        ),
        {"id": visit_id},
    ).one()
    return {
        "id": int(row.id),
        "grid_code": row.grid_code,
        "building_id": int(row.building_id),
        "household_id": row.household_id,
        "visited_at": _iso(row.visited_at),
        "purpose": row.purpose,
    }


def list_visits(
    session: Session, viewer: Viewer, *, area: str | None, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Visits in [since, until) the viewer may see; notes unmasked only under the rule, audited."""
    if until <= since:
        raise InvalidInput("until must come after since", parameter="until")
    rows = session.execute(
        text(
            f"""
            SELECT v.id, v.worker, v.grid_code, v.building_id, b.name AS building,
                   v.household_id, h.code AS household_code, v.visited_at, v.purpose,
                   v.notes, v.people_met, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, v.accuracy_m
            FROM household_visit v
            JOIN building b ON b.id = v.building_id
            LEFT JOIN household h ON h.id = v.household_id
            WHERE {access.visible_sql("v")} AND v.visited_at >= :since AND v.visited_at < :until
            ORDER BY v.visited_at DESC, v.id DESC LIMIT 1000
            """
        ),
        {**access.binds(viewer, area), "since": since, "until": until},
    ).all()
    items: list[dict[str, Any]] = []
    disclosed: list[str] = []
    shown = 0
    for r in rows:
        unmasked = viewer.unmasks(r.grid_code)
        if unmasked and (r.notes or r.people_met):
            shown += 1
            if r.household_id is not None:
                disclosed.append(audit.subject("household", r.household_id))
        items.append(
            {
                "id": int(r.id),
                "worker": r.worker,
                "grid_code": r.grid_code,
                "building_id": int(r.building_id),
                "building": r.building,
                "household_id": r.household_id,
                "household_code": r.household_code,
                "visited_at": _iso(r.visited_at),
                "purpose": r.purpose,
                "notes": r.notes if unmasked else (MASKED_TEXT if r.notes else ""),
                "people_met": r.people_met if unmasked else (MASKED_TEXT if r.people_met else ""),
                "masked": not unmasked,
                "lon": None if r.lon is None else float(r.lon),
                "lat": None if r.lat is None else float(r.lat),
                "accuracy_m": None if r.accuracy_m is None else float(r.accuracy_m),
            }
        )
    if shown:
        audit.disclose(
            session,
            viewer,
            "/api/v1/field/visits",
            subjects=disclosed,
            rows=shown,
            area_code=area or viewer.scope_code,
            detail={"fields": ["notes", "people_met"]},
        )
    return items


def period_start(period: Period, now: datetime | None = None) -> datetime:
    """The start of the current month or quarter in the city's time."""
    local = (now or datetime.now(UTC)).astimezone(LOCAL_TZ)
    month = local.month if period == "month" else 3 * ((local.month - 1) // 3) + 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def coverage(
    session: Session,
    viewer: Viewer,
    *,
    area: str | None,
    period: Period,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Each current building of the area: households visited this period, ever, and in all.

    A building is ``visited`` (a visit this period), ``earlier`` (visited, not this period) or
    ``never``. Buildings are places, not personal data; the visits behind them follow the
    viewer's scope (a worker counts only his own).
    """
    if period not in ("month", "quarter"):
        raise InvalidInput("period must be month or quarter", parameter="period")
    scope = access.binds(viewer, area)
    since = period_start(period, now)
    rows = session.execute(
        text(
            f"""
            SELECT b.id, b.code, b.name, g.code AS grid_code,
                   ST_X(b.anchor) AS lon, ST_Y(b.anchor) AS lat,
                   (SELECT count(*) FROM household h WHERE h.building_id = b.id) AS households,
                   vs.in_period, vs.households_in_period, vs.last_visit
            FROM building b
            JOIN area g ON g.id = b.grid_id
            LEFT JOIN LATERAL (
                SELECT count(*) FILTER (WHERE v.visited_at >= :since) AS in_period,
                       count(DISTINCT v.household_id) FILTER (WHERE v.visited_at >= :since)
                           AS households_in_period,
                       max(v.visited_at) AS last_visit
                FROM household_visit v
                WHERE v.building_id = b.id AND {access.visible_sql("v")}
            ) vs ON true
            WHERE b.valid_to IS NULL AND g.code LIKE :scope_like AND g.code LIKE :area_like
            ORDER BY b.code
            LIMIT 5000
            """
        ),
        {**scope, "since": since},
    ).all()
    features = []
    counts = {"visited": 0, "earlier": 0, "never": 0}
    for r in rows:
        status = "visited" if r.in_period else "earlier" if r.last_visit is not None else "never"
        counts[status] += 1
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(r.lon), float(r.lat)]},
                "properties": {
                    "building_id": int(r.id),
                    "code": r.code,
                    "name": r.name,
                    "grid_code": r.grid_code,
                    "households": int(r.households),
                    "households_visited": int(r.households_in_period or 0),
                    "last_visit": _iso(r.last_visit),
                    "status": status,
                },
            }
        )
    if not features and area is not None:
        exists = session.execute(text("SELECT 1 FROM area WHERE code = :c"), {"c": area}).first()
        if exists is None:
            raise NotFound(f"no area {area}")
    return {
        "type": "FeatureCollection",
        "period": period,
        "since": _iso(since),
        "counts": counts,
        "features": features,
    }
