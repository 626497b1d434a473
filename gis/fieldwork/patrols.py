"""Patrols (巡查): start, track points, findings (one tap to a case), end, lists and KPIs.

The track is the patrol's points ordered by time; its length is measured in PostGIS on the
geography (metres on the spheroid), never in the browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import accounts
from gis.errors import Conflict, InvalidInput, NotFound
from gis.fieldwork import access
from gis.incidents.intake import IncidentInput, create_incident
from gis.media import records as media_records
from gis.media.urls import media_url, thumbnail_url
from gis.scope import Viewer

MAX_POINTS_PER_BATCH = 500
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# How long a phone may keep a patrol it started offline before its outbox sends it: the times
# the phone reports (start, finding, end) are taken when they lie within this much of now.
OFFLINE_LIMIT = timedelta(days=7)


@dataclass(frozen=True)
class TrackPoint:
    """One sampled position; ``client_id`` makes a re-sent batch harmless."""

    client_id: str
    lon: float
    lat: float
    at: datetime
    accuracy_m: float | None = None


# The length of a patrol's track in metres on the geography (0 with fewer than two points).
_DISTANCE_SQL = """
    COALESCE((SELECT ST_Length(ST_MakeLine(pp.geom ORDER BY pp.at, pp.client_id)::geography)
              FROM patrol_point pp WHERE pp.patrol_id = {alias}.id), 0)
"""

_PATROL_SQL = f"""
    SELECT p.id, p.worker, p.user_id, p.grid_code, p.started_at, p.ended_at,
           {_DISTANCE_SQL.format(alias="p")} AS distance_m,
           (SELECT count(*) FROM patrol_point pp WHERE pp.patrol_id = p.id) AS points,
           (SELECT count(*) FROM patrol_finding f WHERE f.patrol_id = p.id) AS findings
    FROM patrol p
"""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "worker": row.worker,
        "grid_code": row.grid_code,
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "distance_m": round(float(row.distance_m), 1),
        "points": int(row.points),
        "findings": int(row.findings),
    }


def _own_patrol(session: Session, viewer: Viewer, patrol_id: int, *, open_only: bool) -> Any:
    """The viewer's own patrol, locked; NotFound for anyone else's, Conflict once ended."""
    user_id = access.require_recorder(viewer)
    row = session.execute(
        text(
            "SELECT id, user_id, grid_code, started_at, ended_at FROM patrol WHERE id = :id"
            " FOR UPDATE"
        ),
        {"id": patrol_id},
    ).one_or_none()
    if row is None or row.user_id != user_id:
        raise NotFound(f"no patrol {patrol_id} of yours")
    if open_only and row.ended_at is not None:
        raise Conflict(f"patrol {patrol_id} has ended", parameter="patrol_id")
    return row


def _phone_time(
    at: datetime | None, now: datetime, parameter: str, *, not_before: datetime | None = None
) -> datetime:
    """The time the phone says something happened (``now`` when it says none), checked."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput(
            f"{parameter} needs a time zone (ISO 8601 with offset)", parameter=parameter
        )
    earliest = max(now - OFFLINE_LIMIT, not_before or now - OFFLINE_LIMIT)
    if not earliest - CLOCK_SKEW <= at <= now + CLOCK_SKEW:
        raise InvalidInput(
            f"{parameter} must lie between {earliest.isoformat()} and now", parameter=parameter
        )
    return at


def _by_client_id(session: Session, user_id: int, client_id: str) -> int | None:
    found = session.execute(
        text("SELECT id FROM patrol WHERE user_id = :u AND client_id = :c"),
        {"u": user_id, "c": client_id},
    ).scalar_one_or_none()
    return None if found is None else int(found)


def start_patrol(
    session: Session,
    viewer: Viewer,
    *,
    grid_code: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    started_at: datetime | None = None,
    client_id: str | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Open a patrol of the viewer in a grid of his scope; one open patrol per account.

    A phone that starts a patrol offline names it (``client_id``, its Idempotency-Key) and says
    when it started; its outbox sends the start later, maybe twice: a repeat returns the first
    patrol (created False).
    """
    user_id = access.require_recorder(viewer)
    if client_id is not None:
        if not 1 <= len(client_id) <= 200:
            raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="client_id")
        earlier = _by_client_id(session, user_id, client_id)
        if earlier is not None:
            return get_patrol(session, viewer, earlier), False
    grid = access.grid_for_work(session, viewer, grid_code, lon, lat)
    now = now or datetime.now(UTC)
    started = _phone_time(started_at, now, "started_at")
    # The partial unique index patrol_one_open_idx is the one-open-patrol rule: a concurrent
    # second start waits on the first's index entry and then inserts nothing. No lock on the
    # account's app_user row: FOR UPDATE there conflicts with the FOR KEY SHARE that every
    # uncommitted row referencing the account (a notification, a case event) holds, so a start
    # would wait on unrelated transactions.
    patrol_id = session.execute(
        text(
            "INSERT INTO patrol (user_id, worker, person_id, grid_code, started_at, client_id)"
            " VALUES (:u, :worker, :person, :g, :started, :c)"
            " ON CONFLICT (user_id) WHERE ended_at IS NULL DO NOTHING RETURNING id"
        ),
        {
            "u": user_id,
            "worker": viewer.username,
            "person": accounts.person_of_user(session, user_id),
            "g": grid,
            "started": started,
            "c": client_id,
        },
    ).scalar_one_or_none()
    if patrol_id is None:
        # A concurrent repeat of this start waited on the first and finds it now.
        earlier = None if client_id is None else _by_client_id(session, user_id, client_id)
        if earlier is not None:
            return get_patrol(session, viewer, earlier), False
        open_id = session.execute(
            text("SELECT id FROM patrol WHERE user_id = :u AND ended_at IS NULL"), {"u": user_id}
        ).scalar_one_or_none()
        raise Conflict(f"patrol {open_id} is still open; end it first", parameter="patrol")
    return get_patrol(session, viewer, int(patrol_id)), True


def add_points(
    session: Session,
    viewer: Viewer,
    patrol_id: int,
    points: list[TrackPoint],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Append sampled positions; points already stored (same client id) are skipped."""
    if not 1 <= len(points) <= MAX_POINTS_PER_BATCH:
        raise InvalidInput(f"send 1 to {MAX_POINTS_PER_BATCH} points at once", parameter="points")
    patrol = _own_patrol(session, viewer, patrol_id, open_only=False)
    if patrol.ended_at is not None:
        # A batch the phone re-sends after the end (an answer lost on the way) is harmless when
        # every point is already stored; new points after the end are refused.
        stored = session.execute(
            text(
                "SELECT count(*) FROM patrol_point WHERE patrol_id = :p"
                " AND client_id = ANY(CAST(:ids AS text[]))"
            ),
            {"p": patrol_id, "ids": list({p.client_id for p in points})},
        ).scalar_one()
        if stored != len({p.client_id for p in points}):
            raise Conflict(f"patrol {patrol_id} has ended", parameter="patrol_id")
        summary = get_patrol(session, viewer, patrol_id, track=False)
        summary["accepted"] = 0
        return summary
    now = now or datetime.now(UTC)
    for i, p in enumerate(points):
        if not (-180 <= p.lon <= 180 and -90 <= p.lat <= 90):
            raise InvalidInput(
                "lon must lie in [-180, 180] and lat in [-90, 90]", parameter=f"points[{i}]"
            )
        if p.at.tzinfo is None:
            raise InvalidInput(
                "at needs a time zone (ISO 8601 with offset)", parameter=f"points[{i}].at"
            )
        if not patrol.started_at - CLOCK_SKEW <= p.at <= now + CLOCK_SKEW:
            raise InvalidInput(
                "at must lie between the patrol's start and now", parameter=f"points[{i}].at"
            )
    inserted = session.execute(
        text(
            """
            INSERT INTO patrol_point (patrol_id, client_id, at, accuracy_m, geom)
            SELECT :p, x.client_id, x.at, x.accuracy_m,
                   ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)
            FROM jsonb_to_recordset(CAST(:points AS jsonb))
                 AS x(client_id text, lon float8, lat float8, at timestamptz, accuracy_m real)
            ON CONFLICT DO NOTHING
            RETURNING client_id
            """
        ),
        {
            "p": patrol_id,
            "points": json.dumps(
                [
                    {
                        "client_id": p.client_id,
                        "lon": p.lon,
                        "lat": p.lat,
                        "at": p.at.isoformat(),
                        "accuracy_m": p.accuracy_m,
                    }
                    for p in points
                ]
            ),
        },
    ).all()
    summary = get_patrol(session, viewer, patrol_id, track=False)
    summary["accepted"] = len(inserted)
    return summary


def add_finding(
    session: Session,
    viewer: Viewer,
    patrol_id: int,
    *,
    description: str,
    lon: float,
    lat: float,
    media: list[int],
    client_id: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Record something found on the patrol at a point, with the worker's own photos.

    With ``client_id`` (the phone's Idempotency-Key) a repeated request returns the first
    finding (created False): a finding queued offline may be sent more than once.
    """
    patrol = _own_patrol(session, viewer, patrol_id, open_only=client_id is None)
    if client_id is not None:
        if not 1 <= len(client_id) <= 200:
            raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="client_id")
        earlier = session.execute(
            text("SELECT id FROM patrol_finding WHERE patrol_id = :p AND client_id = :c"),
            {"p": patrol_id, "c": client_id},
        ).scalar_one_or_none()
        if earlier is not None:
            return _finding(session, int(earlier)), False
        # Not a repeat: only an open patrol takes new findings.
        _own_patrol(session, viewer, patrol_id, open_only=True)
    description = description.strip()
    if not 1 <= len(description) <= 4000:
        raise InvalidInput("description needs 1 to 4000 characters", parameter="description")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lon must lie in [-180, 180] and lat in [-90, 90]", parameter="lat")
    now = now or datetime.now(UTC)
    found_at = _phone_time(at, now, "at", not_before=patrol.started_at)
    photos = media_records.claim(session, viewer, media, "media")
    row = session.execute(
        text(
            "INSERT INTO patrol_finding (patrol_id, at, description, geom, media, client_id)"
            " VALUES (:p, :at, :d, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),"
            " CAST(:m AS bigint[]), :c) RETURNING id"
        ),
        {
            "p": patrol_id,
            "at": found_at,
            "d": description,
            "lon": lon,
            "lat": lat,
            "m": photos,
            "c": client_id,
        },
    ).scalar_one()
    return _finding(session, int(row)), True


def _finding(session: Session, finding_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            "SELECT f.id, f.patrol_id, f.at, f.description, ST_X(f.geom) AS lon,"
            " ST_Y(f.geom) AS lat, f.media, f.incident_id, i.code AS incident_code"
            " FROM patrol_finding f LEFT JOIN incident i ON i.id = f.incident_id"
            " WHERE f.id = :id"
        ),
        {"id": finding_id},
    ).one()
    return {
        "id": int(row.id),
        "patrol_id": int(row.patrol_id),
        "at": _iso(row.at),
        "description": row.description,
        "lon": float(row.lon),
        "lat": float(row.lat),
        "media": [int(m) for m in row.media],
        # Served with the field-work scope rule (gis/media/records.py), the case's once attached.
        "photos": [
            {"id": int(m), "url": media_url(int(m)), "thumbnail_url": thumbnail_url(int(m))}
            for m in row.media
        ],
        "incident_id": row.incident_id,
        "incident_code": row.incident_code,
    }


def finding_to_case(
    session: Session,
    viewer: Viewer,
    finding_id: int,
    *,
    category: str,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Turn a finding into a case through the one intake; a second call returns the same case.

    Only the worker who found it may; the case's photos are the finding's.
    """
    user_id = access.require_recorder(viewer)
    row = session.execute(
        text(
            "SELECT f.id, f.description, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, f.media,"
            " f.incident_id, p.user_id FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id"
            " WHERE f.id = :id FOR UPDATE OF f"
        ),
        {"id": finding_id},
    ).one_or_none()
    if row is None or row.user_id != user_id:
        raise NotFound(f"no finding {finding_id} of yours")
    if row.incident_id is not None:
        return _finding(session, finding_id), False
    result = create_incident(
        session,
        viewer,
        IncidentInput(
            category=category,
            description=row.description,
            lon=float(row.lon),
            lat=float(row.lat),
            source="patrol",
            account_id=viewer.username,
            media=[int(m) for m in row.media],
            attributes={"patrol_finding": finding_id},
        ),
        idempotency_key=idempotency_key,
        endpoint="patrol_finding",
    )
    session.execute(
        text("UPDATE patrol_finding SET incident_id = :i WHERE id = :f"),
        {"i": result.incident["id"], "f": finding_id},
    )
    return _finding(session, finding_id), True


def end_patrol(
    session: Session,
    viewer: Viewer,
    patrol_id: int,
    *,
    ended_at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Close the patrol at ``ended_at`` (the phone's time) or now; ending twice is harmless."""
    patrol = _own_patrol(session, viewer, patrol_id, open_only=False)
    if patrol.ended_at is None:
        now = now or datetime.now(UTC)
        end = _phone_time(ended_at, now, "ended_at", not_before=patrol.started_at)
        session.execute(
            text("UPDATE patrol SET ended_at = greatest(:end, started_at) WHERE id = :id"),
            {"end": end, "id": patrol_id},
        )
    return get_patrol(session, viewer, patrol_id)


def get_patrol(
    session: Session, viewer: Viewer, patrol_id: int, *, track: bool = True
) -> dict[str, Any]:
    """A patrol the viewer may see, its track (a GeoJSON LineString, times beside) and findings."""
    scope = access.binds(viewer, None)
    row = session.execute(
        text(_PATROL_SQL + f" WHERE p.id = :id AND {access.visible_sql('p')}"),
        {"id": patrol_id, **scope},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no patrol {patrol_id} you may see")
    result = _summary(row)
    if not track:
        return result
    points = session.execute(
        text(
            "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, at, accuracy_m FROM patrol_point"
            " WHERE patrol_id = :id ORDER BY at, client_id"
        ),
        {"id": patrol_id},
    ).all()
    result["track"] = {
        "type": "LineString",
        "coordinates": [[float(p.lon), float(p.lat)] for p in points],
    }
    result["times"] = [_iso(p.at) for p in points]
    result["accuracy_m"] = [None if p.accuracy_m is None else float(p.accuracy_m) for p in points]
    ids = session.execute(
        text("SELECT id FROM patrol_finding WHERE patrol_id = :id ORDER BY at, id"),
        {"id": patrol_id},
    ).scalars()
    result["finding_list"] = [_finding(session, int(i)) for i in ids]
    return result


def _period(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidInput("until must come after since", parameter="until")
    if until - since > timedelta(days=366):
        raise InvalidInput("a period is at most a year", parameter="since")


def list_patrols(
    session: Session,
    viewer: Viewer,
    *,
    area: str | None,
    since: datetime,
    until: datetime,
    with_tracks: bool = False,
) -> list[dict[str, Any]]:
    """Patrols started in [since, until) that the viewer may see, newest first."""
    _period(since, until)
    rows = session.execute(
        text(
            _PATROL_SQL + f" WHERE {access.visible_sql('p')} AND p.started_at >= :since"
            " AND p.started_at < :until ORDER BY p.started_at DESC, p.id DESC LIMIT 500"
        ),
        {**access.binds(viewer, area), "since": since, "until": until},
    ).all()
    if not with_tracks:
        return [_summary(r) for r in rows]
    return [get_patrol(session, viewer, int(r.id)) for r in rows]


def worker_kpis(
    session: Session, viewer: Viewer, *, area: str | None, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per worker in [since, until): patrol hours and distance, visits, findings and cases."""
    _period(since, until)
    rows = session.execute(
        text(
            f"""
            WITH p AS (
                SELECT p.user_id, p.worker,
                       EXTRACT(EPOCH FROM (COALESCE(p.ended_at, least(now(), :until))
                                           - p.started_at)) / 3600.0 AS hours,
                       {_DISTANCE_SQL.format(alias="p")} AS distance_m,
                       (SELECT count(*) FROM patrol_finding f WHERE f.patrol_id = p.id) AS findings,
                       (SELECT count(*) FROM patrol_finding f
                         WHERE f.patrol_id = p.id AND f.incident_id IS NOT NULL) AS cases
                FROM patrol p
                WHERE {access.visible_sql("p")} AND p.started_at >= :since
                  AND p.started_at < :until
            ),
            v AS (
                SELECT v.user_id, v.worker, count(*) AS visits,
                       count(DISTINCT v.household_id) AS households
                FROM household_visit v
                WHERE {access.visible_sql("v")} AND v.visited_at >= :since
                  AND v.visited_at < :until
                GROUP BY v.user_id, v.worker
            ),
            pa AS (
                SELECT user_id, min(worker) AS worker, count(*) AS patrols, sum(hours) AS hours,
                       sum(distance_m) AS distance_m, sum(findings) AS findings,
                       sum(cases) AS cases
                FROM p GROUP BY user_id
            )
            SELECT COALESCE(pa.user_id, v.user_id) AS user_id,
                   COALESCE(pa.worker, v.worker) AS worker,
                   COALESCE(pa.patrols, 0) AS patrols, COALESCE(pa.hours, 0) AS hours,
                   COALESCE(pa.distance_m, 0) AS distance_m,
                   COALESCE(pa.findings, 0) AS findings, COALESCE(pa.cases, 0) AS cases,
                   COALESCE(v.visits, 0) AS visits, COALESCE(v.households, 0) AS households
            FROM pa FULL JOIN v ON v.user_id = pa.user_id
            ORDER BY worker
            """
        ),
        {**access.binds(viewer, area), "since": since, "until": until},
    ).all()
    return [
        {
            "worker": r.worker,
            "patrols": int(r.patrols),
            "patrol_hours": round(float(r.hours), 2),
            "distance_m": round(float(r.distance_m), 1),
            "visits": int(r.visits),
            "households_visited": int(r.households),
            "findings": int(r.findings),
            "findings_to_cases": int(r.cases),
        }
        for r in rows
    ]
