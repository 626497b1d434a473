"""Taking in a report: validate, route, set the first deadline, detect duplicates, and
write the case, its history, its idempotency key and its event in one statement.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput
from gis.incidents.deadlines import (
    HOLIDAY_SIGNATURE_SQL,
    DeadlineRule,
    load_calendar,
    rule_from_row,
    stage_deadline,
)
from gis.incidents.events import append_event, event_payload
from gis.incidents.history import HistoryRow, actor_of, history_entry, record_history
from gis.incidents.presentation import SELECT_TEMPLATE, get_incident, present
from gis.incidents.routing import ROUTE_QUERY, Routing, fallback_route
from gis.incidents.timestamps import iso
from gis.incidents.vocabulary import KIND_OF_CATEGORY, LATE_STATUSES, SOURCES
from gis.incidents.workcalendar import CST
from gis.media import records as media_records
from gis.media.urls import media_url
from gis.scope import Viewer

# A report of the same category this close to an open case, this soon after it, is offered to
# the reporter as a possible duplicate.
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(hours=24)

# The jurisdiction is the union of the current districts, widened by this much: a phone's GPS
# fix (tens of metres, more between tall buildings) and a boundary digitised on a coarser map may
# put a report at the city's edge just outside it. Such a report is taken (outside every grid it
# waits in the unassigned tray, 属地兜底); anything farther is refused as a wrong point (a swapped
# lat/long, a GCJ-02 point sent as WGS84 far from here, 0/0, −1/−1).
JURISDICTION_TOLERANCE_M = 500.0


def jurisdiction_test(point: str) -> str:
    """SQL: whether ``point`` (an SQL expression of a WGS84 point) lies within ``:tolerance``
    metres (JURISDICTION_TOLERANCE_M) of a current district. The one rule for the API, Open311
    and imports (gis/io/validate.py).

    The box prefilter (0.01° ≥ 500 m of longitude below 60° latitude) uses the GiST index; the
    exact test is on the sphere.
    """
    return f"""
    EXISTS (SELECT 1 FROM area d
            WHERE d.level = 'district' AND d.valid_to IS NULL
              AND d.geom && ST_Expand({point}, 0.01)
              AND ST_DWithin(d.geom::geography, ({point})::geography, :tolerance))
    """


def outside_jurisdiction(lon: float, lat: float) -> InvalidInput:
    """The refusal of a point outside the jurisdiction (what to check, not where the city is)."""
    return InvalidInput(
        f"the point ({lon:.6f}, {lat:.6f}) lies outside the city's districts (more than "
        f"{JURISDICTION_TOLERANCE_M:.0f} m beyond their boundary): check the coordinates, their "
        "order (longitude first in GeoJSON) and their datum (send crs=gcj02 or bd09 for points "
        "from AMap, Tencent, WeChat or Baidu)",
        parameter="geometry",
    )


# What case_code writes (district, day, serial number), to recognise a code of ours.
CASE_CODE = re.compile(r"[0-9]{6}-[0-9]{8}-[0-9]{7,}")


def case_code(district_code: str, reported_at: datetime, number: int) -> str:
    """The one case-code format (案件编号), whichever way a case came in: the district's code,
    the report's day in China Standard Time and the case's serial number (at least 7 digits).

    The number is the case's id, never reused: unique without a counter, so intakes never queue
    on a per-day counter's row lock (gaps are harmless; docs/command-centre.md).

    >>> case_code("620881", datetime(2026, 11, 28, 17, 0, tzinfo=UTC), 123)
    '620881-20261129-0000123'
    """
    return f"{district_code}-{reported_at.astimezone(CST):%Y%m%d}-{number:07d}"


@dataclass
class IncidentInput:
    """A new report: WGS84 point, category, description and who reported it."""

    category: str
    description: str
    lon: float
    lat: float
    source: str = "public"
    kind: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    media_url: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    duplicate_of: int | None = None
    # Ids of the reporter's stored uploads (POST /api/v1/media): the report's photos, published
    # with the case; the first becomes ``media_url`` unless one was given.
    media: list[int] = field(default_factory=list)

    def validate(self) -> None:
        if self.category not in KIND_OF_CATEGORY:
            raise InvalidInput(
                f"unknown category {self.category!r}; one of: {', '.join(KIND_OF_CATEGORY)}",
                parameter="category",
            )
        kind = KIND_OF_CATEGORY[self.category]
        if self.kind is not None and self.kind != kind:
            raise InvalidInput(
                f"category {self.category} is of kind {kind}, not {self.kind}", parameter="kind"
            )
        self.kind = kind
        if self.source not in SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", parameter="source")
        if not (1 <= len(self.description.strip()) <= 4000):
            raise InvalidInput("description needs 1 to 4000 characters", parameter="description")
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise InvalidInput("lon must lie in [-180, 180] and lat in [-90, 90]", parameter="lat")
        if self.media_url is not None and not self.media_url.startswith(("http://", "https://")):
            raise InvalidInput("media_url must be an http(s) URL", parameter="media_url")
        if self.reporter_phone is not None and not (
            len(self.reporter_phone) <= 20
            and self.reporter_phone.replace("+", "").replace("-", "").isdigit()
        ):
            raise InvalidInput("phone must be digits", parameter="phone")

    def fingerprint(self) -> str:
        body = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class IntakeResult:
    incident: dict[str, Any]
    created: bool
    duplicates: list[dict[str, Any]]


# Open cases of :category within :radius metres of (:lon, :lat) reported in the 24 hours before
# :now, nearest first. The box prefilter (0.001° ≥ 50 m below 60° latitude) uses the GiST index
# of open cases (migrations 0009, 0012): the same inlined incident_open_statuses() in both lets
# the planner match its predicate, prepared statements included.
_DUPLICATES_QUERY = """
    SELECT i.id, i.code, i.status, i.reported_at, i.description,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
           ST_Distance(i.geom::geography, p.pt::geography) AS distance_m
    FROM incident i, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
    WHERE i.geom && ST_Expand(p.pt, 0.001)
      AND ST_DWithin(i.geom::geography, p.pt::geography, :radius)
      AND i.category = :category
      AND i.status = ANY (incident_open_statuses())
      AND i.reported_at > :since AND i.reported_at <= :now
    ORDER BY distance_m, i.id
    LIMIT 20
"""

# Everything the intake reads, in one round trip: the idempotency key claimed (a concurrent
# request with the same key blocks on its primary key until the first commits or rolls back),
# the case's id (reserved now, so its code can be formed by case_code), whether the point lies in
# the jurisdiction, the route (no columns set outside every grid), the category's deadline rule,
# the holiday table's fingerprint, and one row per possible duplicate (at least one row in all).
_INTAKE_CONTEXT_SQL = text(
    f"""
    WITH claim AS (
        INSERT INTO idempotency_key (endpoint, key, fingerprint)
        SELECT :endpoint, CAST(:key AS text), CAST(:fingerprint AS text)
         WHERE CAST(:key AS text) IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING key
    ),
    serial AS (SELECT nextval(pg_get_serial_sequence('incident', 'id')) AS id)
    SELECT (SELECT count(*) FROM claim) AS claimed,
           (SELECT id FROM serial) AS new_id,
           {jurisdiction_test("ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")} AS in_jurisdiction,
           route.grid_id, route.grid_code, route.district_code, route.community_id,
           route.street_id, route.assignee_id,
           rule.accept_minutes, rule.dispatch_minutes, rule.handle_hours, rule.calendar_time,
           rule.escalate_every_hours,
           {HOLIDAY_SIGNATURE_SQL} AS holidays,
           dup.id AS dup_id, dup.code AS dup_code, dup.status AS dup_status,
           dup.reported_at AS dup_reported_at, dup.description AS dup_description,
           dup.lon AS dup_lon, dup.lat AS dup_lat, dup.distance_m AS dup_distance_m
    FROM (SELECT 1) AS anchor
    LEFT JOIN LATERAL ({ROUTE_QUERY}) AS route ON true
    LEFT JOIN incident_deadline_rule AS rule ON rule.category = :category
    LEFT JOIN LATERAL ({_DUPLICATES_QUERY}) AS dup ON true
    ORDER BY dup.distance_m, dup.id
    """
)


@dataclass(frozen=True)
class _IntakeContext:
    claimed: bool
    new_id: int
    in_jurisdiction: bool
    routing: Routing | None
    rule: DeadlineRule
    holidays: str
    duplicates: list[dict[str, Any]]


def _intake_context(
    session: Session, data: IncidentInput, now: datetime, endpoint: str, key: str | None
) -> _IntakeContext:
    rows = session.execute(
        _INTAKE_CONTEXT_SQL,
        {
            "endpoint": endpoint,
            "key": key,
            "fingerprint": data.fingerprint() if key is not None else None,
            "lon": data.lon,
            "lat": data.lat,
            "category": data.category,
            "radius": DUPLICATE_RADIUS_M,
            "since": now - DUPLICATE_WINDOW,
            "now": now,
            "tolerance": JURISDICTION_TOLERANCE_M,
        },
    ).all()
    first = rows[0]
    routing = (
        None
        if first.grid_id is None
        else Routing(
            first.district_code,
            first.street_id,
            first.community_id,
            first.grid_id,
            first.grid_code,
            first.assignee_id,
            False,
            "grid",
        )
    )
    duplicates = [
        {
            "id": r.dup_id,
            "code": r.dup_code,
            "status": r.dup_status,
            "reported_at": iso(r.dup_reported_at),
            "description": r.dup_description,
            "lon": r.dup_lon,
            "lat": r.dup_lat,
            "distance_m": round(float(r.dup_distance_m), 1),
        }
        for r in rows
        if r.dup_id is not None
    ]
    return _IntakeContext(
        bool(first.claimed),
        int(first.new_id),
        bool(first.in_jurisdiction),
        routing,
        rule_from_row(data.category, first),
        str(first.holidays),
        duplicates,
    )


def _earlier_claim(session: Session, endpoint: str, key: str, fingerprint: str) -> int | None:
    """The incident of the request that claimed ``key`` first (None while it is unfinished);
    Conflict if that request differed from this one."""
    row = session.execute(
        text(
            "SELECT fingerprint, incident_id FROM idempotency_key WHERE endpoint = :e AND key = :k"
        ),
        {"e": endpoint, "k": key},
    ).one()
    if row.fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used for a different request; use a new key",
            parameter="Idempotency-Key",
        )
    return int(row.incident_id) if row.incident_id is not None else None


# The new case, its first history entry, the idempotency key pointed at it and its "created"
# event, in one statement that returns the case as SELECT_INCIDENT would read it back.
_INSERT_SQL = text(
    """
    WITH ins AS (
        INSERT INTO incident (
            id, code, kind, category, description, source, reporter_name, reporter_phone,
            reporter_email, device_id, account_id, media_url, attributes, status, resolution,
            geom, address, street_id, community_id, grid_id, district_code, assignee_id,
            escalation_level, reported_at, due_at, updated_at)
        SELECT
            :id, :code,
            :kind, :category, :description, :source, :rname, :rphone,
            :remail, :device, :account, :media, CAST(:attrs AS jsonb), :status, :resolution,
            ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :address, :street, :community, :grid,
            :district, :assignee, :level, :now, :due, :now
        RETURNING *
    ),
    history AS (
        INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, note,
                                         attachments, public_attachments)
        SELECT id, :now, :actor, NULL, 'reported', '上报', '[]'::jsonb,
               CAST(:photos AS jsonb) FROM ins
    ),
    claim AS (
        UPDATE idempotency_key SET incident_id = (SELECT id FROM ins)
        WHERE endpoint = :endpoint AND key = CAST(:key AS text)
    ),
    event AS (
        INSERT INTO incident_event (incident_id, kind, status, payload, at)
        SELECT id, 'created', status,
               CAST(:payload AS jsonb) || jsonb_build_object('id', id, 'code', code), :now
        FROM ins
    )
    """
    + SELECT_TEMPLATE.format(source="ins")
)


def create_incident(
    session: Session,
    viewer: Viewer,
    data: IncidentInput,
    *,
    idempotency_key: str | None = None,
    endpoint: str = "api",
    now: datetime | None = None,
) -> IntakeResult:
    """Take in a report: route it, set its first deadline, record history and an event.

    With ``duplicate_of`` the report is linked to that open case and closed as a duplicate
    instead of opening a second case. With ``idempotency_key`` a retry returns the first result.
    A plain report costs two statements (read what it needs, write everything) plus the commit.
    """
    data.validate()
    now = now or datetime.now(UTC)
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200):
        raise InvalidInput("Idempotency-Key needs 1 to 200 characters", parameter="Idempotency-Key")
    context = _intake_context(session, data, now, endpoint, idempotency_key)
    if idempotency_key is not None and not context.claimed:
        earlier = _earlier_claim(session, endpoint, idempotency_key, data.fingerprint())
        if earlier is None:
            raise Conflict("the first request with this key is still being processed")
        return IntakeResult(get_incident(session, viewer, earlier), False, [])
    if not context.in_jurisdiction:
        raise outside_jurisdiction(data.lon, data.lat)
    photo_ids = media_records.claim(session, viewer, data.media, "media")
    photos = [media_url(media_id) for media_id in photo_ids]
    routing = context.routing or fallback_route(session, data.lon, data.lat)
    duplicates = context.duplicates
    target: dict[str, Any] | None = None
    if data.duplicate_of is not None:
        target = next((d for d in duplicates if d["id"] == data.duplicate_of), None)
        if target is None:
            raise InvalidInput(
                f"incident {data.duplicate_of} is not an open {data.category} case within "
                f"{DUPLICATE_RADIUS_M:.0f} m reported in the last 24 hours",
                parameter="duplicate_of",
            )
    calendar = load_calendar(session, context.holidays)
    status = "rejected" if target else "reported"
    due_at = None if target else stage_deadline(context.rule, calendar, "reported", now)
    actor = actor_of(viewer, data.source)
    # The stream's summary of the new case (the fields event_payload reads; id and code are
    # added by the statement).
    payload = {
        "kind": data.kind,
        "category": data.category,
        "status": status,
        "escalation_level": routing.escalation_level,
        "lon": data.lon,
        "lat": data.lat,
        "grid_code": routing.grid_code,
        "due_at": iso(None if due_at is None else due_at.astimezone(UTC)),
        "updated_at": iso(now.astimezone(UTC)),
    }
    row = session.execute(
        _INSERT_SQL,
        {
            "id": context.new_id,
            "code": case_code(routing.district_code, now, context.new_id),
            "kind": data.kind,
            "category": data.category,
            "description": data.description.strip(),
            "source": data.source,
            "rname": data.reporter_name,
            "rphone": data.reporter_phone,
            "remail": data.reporter_email,
            "device": data.device_id,
            "account": data.account_id,
            "media": data.media_url or (photos[0] if photos else None),
            "photos": json.dumps(photos),
            "attrs": json.dumps(data.attributes, ensure_ascii=False),
            "status": status,
            "resolution": "duplicate" if target else None,
            "lon": data.lon,
            "lat": data.lat,
            "address": data.address,
            "street": routing.street_id,
            "community": routing.community_id,
            "grid": routing.grid_id,
            "district": routing.district_code,
            "assignee": routing.assignee_id,
            "level": routing.escalation_level,
            "now": now,
            "due": due_at,
            "actor": actor,
            "endpoint": endpoint,
            "key": idempotency_key,
            "payload": json.dumps(payload),
            "late": list(LATE_STATUSES),
        },
    ).one()
    media_records.attach(
        session, photo_ids, incident_id=row.id, transition_id=None, public=True, now=now
    )
    if target is not None:
        _link_duplicate(session, row.id, target, actor, now)
        return IntakeResult(get_incident(session, viewer, row.id), True, [])
    incident = present(row, viewer)
    full = incident.get("in_scope", False)
    first = HistoryRow(now, None, "reported", actor, "上报", [], None, photos)
    incident["history"] = [history_entry(first, full, full and not incident.get("masked", True))]
    if full:
        incident["escalations"] = []
        incident["duplicates"] = []
        incident["extensions"] = []
    return IntakeResult(incident, True, duplicates)


def _link_duplicate(
    session: Session, incident_id: int, target: dict[str, Any], actor: str, now: datetime
) -> None:
    """Close a new report as a duplicate of ``target`` (history, link, the target's event)."""
    note = f"重复，并入 {target['code']}"
    record_history(session, incident_id, now, actor, "reported", "rejected", note, [])
    session.execute(
        text(
            "INSERT INTO incident_duplicate (incident_id, duplicate_of, linked_at, linked_by) "
            "VALUES (:i, :d, :now, :by)"
        ),
        {"i": incident_id, "d": target["id"], "now": now, "by": actor},
    )
    append_event(
        session,
        target["id"],
        "linked",
        target["status"],
        {**event_payload(session, target["id"]), "linked_incident_id": incident_id},
        now,
    )
