"""SQL for incidents: intake and routing, transitions, duplicates, deadlines, escalation, metrics,
map aggregates and the change log the live stream replays.

Every read takes a :class:`~gis.scope.Viewer`: a case is shown in full only inside the viewer's
scope (its grid, community or street code lies in the viewer's subtree); elsewhere only the
public fields an Open311 client may see. Reporter and assignee names and phones are masked unless
the viewer may unmask and the case is in scope. Data functions never commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.masking import mask_name, mask_phone
from gis.queries.spatial_params import check_area_code, subtree_prefix
from gis.scope import Viewer
from gis.sqlfiles import read_sql
from gis.workcalendar import CST, WorkCalendar, deadline
from gis.workflow import (
    INCIDENT_WORKFLOW,
    OPEN_STATUSES,
    REJECT_RESOLUTIONS,
    STATUS_LABELS_ZH,
    next_escalation_level,
)

KINDS = ("event", "component")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "event": ("市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他"),
    "component": ("公用设施", "交通设施", "市容环境设施", "园林绿化设施", "其他设施"),
}
KIND_OF_CATEGORY = {c: k for k, cats in CATEGORIES.items() for c in cats}
SOURCES = ("grid_worker", "hotline", "public", "open311", "patrol", "import")
STATUSES = (
    "reported",
    "registered",
    "rejected",
    "dispatched",
    "in_progress",
    "handled",
    "closed",
    "evaluated",
)
# Statuses in which a deadline is running (handled cases wait for verification, not for work).
LATE_STATUSES = ("reported", "registered", "dispatched", "in_progress")
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(hours=24)
MAX_PAGE = 1000


# --- Calendar and deadline rules ----------------------------------------------------------------


# A fingerprint of the ``holiday`` table, cheap enough to read with every intake: the parsed
# calendar is cached per process under it, so an edit (from any process) takes effect at once.
HOLIDAY_SIGNATURE_SQL = (
    "(SELECT count(*) || ':' || coalesce(sum(hashtext(day::text || ':' || is_workday::text)), 0)"
    " FROM holiday)"
)
_CALENDARS: dict[str, WorkCalendar] = {}
_CALENDAR_ROWS_SQL = text(
    f"SELECT day, is_workday, {HOLIDAY_SIGNATURE_SQL} AS signature FROM holiday"
)
_SIGNATURE_SQL = text(f"SELECT {HOLIDAY_SIGNATURE_SQL}")


def load_calendar(session: Session, signature: str | None = None) -> WorkCalendar:
    """The working-day calendar from the ``holiday`` table.

    ``signature`` is the table's fingerprint if the caller read it already (the intake reads it
    with its other inputs); the calendar is parsed again only when the fingerprint changes.
    """
    if signature is None:
        signature = str(session.execute(_SIGNATURE_SQL).scalar_one())
    calendar = _CALENDARS.get(signature)
    if calendar is None:
        rows = session.execute(_CALENDAR_ROWS_SQL).all()
        calendar = WorkCalendar.from_rows((r.day, r.is_workday) for r in rows)
        # Rows and fingerprint come from one snapshot; an empty table has no row to carry it.
        signature = str(rows[0].signature) if rows else "0:0"
        _CALENDARS.clear()
        _CALENDARS[signature] = calendar
    return calendar


@dataclass(frozen=True)
class DeadlineRule:
    category: str
    accept: timedelta
    dispatch: timedelta
    handle: timedelta
    calendar_time: bool
    escalate_every: timedelta


_RULE_SQL = text("SELECT * FROM incident_deadline_rule WHERE category = :c")


def deadline_rule(session: Session, category: str) -> DeadlineRule:
    """The time limits of ``category`` (from ``incident_deadline_rule``)."""
    return _rule_from_row(category, session.execute(_RULE_SQL, {"c": category}).one_or_none())


def _rule_from_row(category: str, row: Any) -> DeadlineRule:
    """A rule from an ``incident_deadline_rule`` row (columns as in the table), or None."""
    if row is None or row.accept_minutes is None:
        # A category without a row keeps the national defaults: one hour each, three days.
        return DeadlineRule(
            category,
            timedelta(hours=1),
            timedelta(hours=1),
            timedelta(days=3),
            False,
            timedelta(hours=24),
        )
    return DeadlineRule(
        category,
        timedelta(minutes=row.accept_minutes),
        timedelta(minutes=row.dispatch_minutes),
        timedelta(hours=row.handle_hours),
        row.calendar_time,
        timedelta(hours=row.escalate_every_hours),
    )


def stage_deadline(
    rule: DeadlineRule, calendar: WorkCalendar, status: str, start: datetime
) -> datetime | None:
    """When the step that follows entering ``status`` at ``start`` is due."""
    limit = {
        "reported": rule.accept,
        "registered": rule.dispatch,
        "dispatched": rule.handle,
    }.get(status)
    if limit is None:
        return None
    return deadline(start, limit, calendar, calendar_time=rule.calendar_time)


# --- Routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """Where a point falls: area versions in force, the worker on duty, or the street fallback."""

    district_code: str
    street_id: int | None
    community_id: int | None
    grid_id: int | None
    grid_code: str | None
    assignee_id: int | None
    unassigned: bool
    escalation_level: str


# The grid at (:lon, :lat), its parents and its worker on duty (see _WORKER_SQL): no row outside
# every grid. Part of the intake's one read (_INTAKE_CONTEXT_SQL).
_ROUTE_QUERY = """
    SELECT r.*, w.person_id AS assignee_id
    FROM (
        SELECT g.id AS grid_id, g.code AS grid_code, g.district_code,
               c.id AS community_id, s.id AS street_id
        FROM area g
        LEFT JOIN area c ON c.level = 'community' AND c.valid_to IS NULL
                         AND c.code = left(g.code, 12)
        LEFT JOIN area s ON s.level = 'street' AND s.valid_to IS NULL
                         AND s.code = left(g.code, 9) || '000'
        WHERE g.level = 'grid' AND g.valid_to IS NULL
          AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        -- Overlapping grids (多网合一 leftovers): the comprehensive grid wins, then the lowest
        -- code.
        ORDER BY (g.kind = '综合网格') DESC, g.code
        LIMIT 1
    ) r
    LEFT JOIN LATERAL (
        SELECT gs.person_id
        FROM grid_staff gs
        LEFT JOIN LATERAL (
            SELECT count(*) AS n FROM incident i
            WHERE i.assignee_id = gs.person_id
              AND i.status IN ('registered', 'dispatched', 'in_progress')
        ) load ON true
        WHERE gs.area_id = r.grid_id AND gs.role IN ('worker', 'chief')
        ORDER BY (gs.role = 'worker') DESC, load.n, gs.person_id
        LIMIT 1
    ) w ON true
"""

# 属地兜底: outside every grid, the community containing the point if any, else the nearest
# street (KNN on the GiST index, then the exact distance among a few candidates).
_FALLBACK_SQL = text(
    """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt),
    street AS (
        SELECT s.id, s.code, s.district_code
        FROM (SELECT a.id, a.code, a.district_code, a.geom FROM area a, p
              WHERE a.level = 'street' AND a.valid_to IS NULL
              ORDER BY a.geom <-> p.pt LIMIT 5) s, p
        ORDER BY ST_Distance(s.geom::geography, p.pt::geography), s.code
        LIMIT 1
    )
    SELECT street.id AS street_id, street.district_code,
           (SELECT c.id FROM area c, p WHERE c.level = 'community' AND c.valid_to IS NULL
              AND left(c.code, 9) = left(street.code, 9)
              AND ST_Intersects(c.geom, p.pt) LIMIT 1) AS community_id
    FROM street
    """
)

# The grid's worker on duty: the grid worker (or, failing one, the chief) with the fewest open
# cases, so work spreads over the team.
_WORKER_SQL = text(
    """
    SELECT gs.person_id
    FROM grid_staff gs
    LEFT JOIN LATERAL (
        SELECT count(*) AS n FROM incident i
        WHERE i.assignee_id = gs.person_id
          AND i.status IN ('registered', 'dispatched', 'in_progress')
    ) load ON true
    WHERE gs.area_id = :grid_id AND gs.role IN ('worker', 'chief')
    ORDER BY (gs.role = 'worker') DESC, load.n, gs.person_id
    LIMIT 1
    """
)


def _fallback_route(session: Session, lon: float, lat: float) -> Routing:
    """Route a WGS84 point outside every grid to its community or nearest street (属地兜底)."""
    fb = session.execute(_FALLBACK_SQL, {"lon": lon, "lat": lat}).one_or_none()
    if fb is None:
        raise InvalidInput(
            "no areas are loaded, so the point cannot be routed: load the city first",
            parameter="geometry",
        )
    return Routing(
        fb.district_code, fb.street_id, fb.community_id, None, None, None, True, "street"
    )


# --- Events (the change log of the live stream) -------------------------------------------------


def append_event(
    session: Session,
    incident_id: int,
    kind: str,
    status: str,
    payload: dict[str, Any],
    at: datetime,
) -> int:
    """Append one change to ``incident_event``.

    No lock: the row records its transaction (column ``xid``, filled by its default), and
    :func:`events_after` delivers events in (xid, id) order only once every transaction that
    could still sort before them has finished (see migration 0007).
    """
    return int(
        session.execute(
            text(
                "INSERT INTO incident_event (incident_id, kind, status, payload, at) "
                "VALUES (:i, :k, :s, CAST(:p AS jsonb), :at) RETURNING id"
            ),
            {"i": incident_id, "k": kind, "s": status, "p": json.dumps(payload), "at": at},
        ).scalar_one()
    )


# A position in the stream: (writing transaction, event id). Events are delivered in this order.
Position = tuple[int, int]

# Transactions below this xid have all finished; any that may still commit an event are at or
# above it (xid8 as bigint, as stored by migration 0007).
_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def format_position(position: Position) -> str:
    """The SSE id of a position: ``<xid>-<event id>``."""
    return f"{position[0]}-{position[1]}"


def parse_position(value: str, parameter: str = "Last-Event-ID") -> Position:
    """Read an SSE id back: ``<xid>-<event id>``, or a bare event id from before migration 0007
    (those events all carry xid 0 and were numbered in commit order)."""
    xid, sep, event_id = value.strip().rpartition("-")
    if not sep:
        xid = "0"
    if not (xid.isdigit() and event_id.isdigit() and len(xid) <= 19 and len(event_id) <= 19):
        raise InvalidInput(
            f"{parameter} must be an event id as sent by the stream (e.g. 7301-52)",
            parameter=parameter,
        )
    return int(xid), int(event_id)


def _event_payload(session: Session, incident_id: int) -> dict[str, Any]:
    """The public summary of a case that a stream subscriber (the map) receives."""
    row = session.execute(
        text(
            """
            SELECT i.id, i.code, i.kind, i.category, i.status, i.escalation_level,
                   ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, g.code AS grid_code,
                   i.due_at, i.updated_at
            FROM incident i LEFT JOIN area g ON g.id = i.grid_id WHERE i.id = :id
            """
        ),
        {"id": incident_id},
    ).one()
    return {
        "id": row.id,
        "code": row.code,
        "kind": row.kind,
        "category": row.category,
        "status": row.status,
        "escalation_level": row.escalation_level,
        "lon": row.lon,
        "lat": row.lat,
        "grid_code": row.grid_code,
        "due_at": _iso(row.due_at),
        "updated_at": _iso(row.updated_at),
    }


def events_after(session: Session, after: Position, limit: int = 100) -> list[dict[str, Any]]:
    """Events after ``after`` in stream order (public fields only), finished transactions only.

    An event is delivered once its transaction is older than every transaction still running:
    it has committed (or aborted, and then it is not there), and any event committed later
    belongs to a transaction at or above the horizon, so it sorts after this one. A client
    resuming from the last position it saw therefore never misses or repeats an event.
    """
    rows = session.execute(
        text(
            "SELECT id, xid, incident_id, at, kind, status, payload FROM incident_event "
            f"WHERE (xid, id) > (:xid, :id) AND xid < {_HORIZON} "
            "ORDER BY xid, id LIMIT :lim"
        ),
        {"xid": after[0], "id": after[1], "lim": limit},
    ).all()
    return [
        {
            "event_id": r.id,
            "position": format_position((r.xid, r.id)),
            "incident_id": r.incident_id,
            "at": _iso(r.at),
            **{k: v for k, v in r.payload.items() if k not in {"id"}},
            # What happened (created, transition, escalated, linked, updated); the payload's
            # own "kind" is the case kind (event or component).
            "change": r.kind,
            "status": r.status,
        }
        for r in rows
    ]


def last_position(session: Session) -> Position:
    """The position of the newest deliverable event: a stream started now resumes after it."""
    row = session.execute(
        text(
            f"SELECT xid, id FROM incident_event WHERE xid < {_HORIZON} "
            "ORDER BY xid DESC, id DESC LIMIT 1"
        )
    ).one_or_none()
    return (0, 0) if row is None else (int(row.xid), int(row.id))


# --- Intake -------------------------------------------------------------------------------------


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
# of open cases (migration 0009), whose predicate the literal status list lets the planner match.
_OPEN_STATUS_LIST = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
_DUPLICATES_QUERY = f"""
    SELECT i.id, i.code, i.status, i.reported_at, i.description,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,
           ST_Distance(i.geom::geography, p.pt::geography) AS distance_m
    FROM incident i, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
    WHERE i.geom && ST_Expand(p.pt, 0.001)
      AND ST_DWithin(i.geom::geography, p.pt::geography, :radius)
      AND i.category = :category
      AND i.status IN ({_OPEN_STATUS_LIST})
      AND i.reported_at > :since AND i.reported_at <= :now
    ORDER BY distance_m, i.id
    LIMIT 20
"""

# Everything the intake reads, in one round trip: the idempotency key claimed (a concurrent
# request with the same key blocks on its primary key until the first commits or rolls back),
# the route (no columns set outside every grid), the category's deadline rule, the holiday
# table's fingerprint, and one row per possible duplicate (at least one row in all).
_INTAKE_CONTEXT_SQL = text(
    f"""
    WITH claim AS (
        INSERT INTO idempotency_key (endpoint, key, fingerprint)
        SELECT :endpoint, CAST(:key AS text), CAST(:fingerprint AS text)
         WHERE CAST(:key AS text) IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING key
    )
    SELECT (SELECT count(*) FROM claim) AS claimed,
           route.grid_id, route.grid_code, route.district_code, route.community_id,
           route.street_id, route.assignee_id,
           rule.accept_minutes, rule.dispatch_minutes, rule.handle_hours, rule.calendar_time,
           rule.escalate_every_hours,
           {HOLIDAY_SIGNATURE_SQL} AS holidays,
           dup.id AS dup_id, dup.code AS dup_code, dup.status AS dup_status,
           dup.reported_at AS dup_reported_at, dup.description AS dup_description,
           dup.lon AS dup_lon, dup.lat AS dup_lat, dup.distance_m AS dup_distance_m
    FROM (SELECT 1) AS anchor
    LEFT JOIN LATERAL ({_ROUTE_QUERY}) AS route ON true
    LEFT JOIN incident_deadline_rule AS rule ON rule.category = :category
    LEFT JOIN LATERAL ({_DUPLICATES_QUERY}) AS dup ON true
    ORDER BY dup.distance_m, dup.id
    """
)


@dataclass(frozen=True)
class _IntakeContext:
    claimed: bool
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
            "reported_at": _iso(r.dup_reported_at),
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
        routing,
        _rule_from_row(data.category, first),
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


_SELECT_TEMPLATE = """
    SELECT i.id, i.code, i.kind, i.category, i.description, i.source, i.status, i.resolution,
           i.reporter_name, i.reporter_phone, i.reporter_email, i.media_url, i.attributes,
           ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.address, i.district_code,
           i.street_id, i.community_id, i.grid_id,
           s.code AS street_code, s.name AS street_name,
           c.code AS community_code, c.name AS community_name,
           g.code AS grid_code, g.name AS grid_name, g.version AS grid_version,
           i.assignee_id, p.name AS assignee_name, p.phone AS assignee_phone,
           i.dispatched_to, i.rework_count, i.rating, i.escalation_level, i.escalated_at,
           i.reported_at, i.due_at, i.closed_at, i.updated_at, i.token,
           (i.status = ANY(:late) AND i.due_at < :now) AS overdue,
           d.duplicate_of
    FROM {source} i
    LEFT JOIN area s ON s.id = i.street_id
    LEFT JOIN area c ON c.id = i.community_id
    LEFT JOIN area g ON g.id = i.grid_id
    LEFT JOIN person p ON p.id = i.assignee_id
    LEFT JOIN incident_duplicate d ON d.incident_id = i.id
"""
# A case with the names of its areas and assignee (what present() shows).
_SELECT = _SELECT_TEMPLATE.format(source="incident")

# The new case, its first history entry, the idempotency key pointed at it and its "created"
# event, in one statement that returns the case as _SELECT would read it back.
_INSERT_SQL = text(
    """
    WITH new AS (SELECT nextval(pg_get_serial_sequence('incident', 'id')) AS id),
    ins AS (
        INSERT INTO incident (
            id, code, kind, category, description, source, reporter_name, reporter_phone,
            reporter_email, device_id, account_id, media_url, attributes, status, resolution,
            geom, address, street_id, community_id, grid_id, district_code, assignee_id,
            escalation_level, reported_at, due_at, updated_at)
        SELECT
            new.id, :code_prefix || lpad(new.id::text, greatest(7, length(new.id::text)), '0'),
            :kind, :category, :description, :source, :rname, :rphone,
            :remail, :device, :account, :media, CAST(:attrs AS jsonb), :status, :resolution,
            ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :address, :street, :community, :grid,
            :district, :assignee, :level, :now, :due, :now
        FROM new
        RETURNING *
    ),
    history AS (
        INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, note,
                                         attachments)
        SELECT id, :now, :actor, NULL, 'reported', '上报', '[]'::jsonb FROM ins
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
    + _SELECT_TEMPLATE.format(source="ins")
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
    routing = context.routing or _fallback_route(session, data.lon, data.lat)
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
    actor = _actor(viewer, data)
    # The stream's summary of the new case (the fields _event_payload reads; id and code are
    # added by the statement).
    payload = {
        "kind": data.kind,
        "category": data.category,
        "status": status,
        "escalation_level": routing.escalation_level,
        "lon": data.lon,
        "lat": data.lat,
        "grid_code": routing.grid_code,
        "due_at": _iso(None if due_at is None else due_at.astimezone(UTC)),
        "updated_at": _iso(now.astimezone(UTC)),
    }
    row = session.execute(
        _INSERT_SQL,
        {
            "code_prefix": f"SJ{now.astimezone(calendar.tz):%Y%m%d}",
            "kind": data.kind,
            "category": data.category,
            "description": data.description.strip(),
            "source": data.source,
            "rname": data.reporter_name,
            "rphone": data.reporter_phone,
            "remail": data.reporter_email,
            "device": data.device_id,
            "account": data.account_id,
            "media": data.media_url,
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
    if target is not None:
        _link_duplicate(session, row.id, target, actor, now)
        return IntakeResult(get_incident(session, viewer, row.id), True, [])
    incident = present(row, viewer)
    full = incident.get("in_scope", False)
    incident["history"] = [_history_entry(now, None, "reported", actor, "上报", [], full)]
    if full:
        incident["escalations"] = []
        incident["duplicates"] = []
    return IntakeResult(incident, True, duplicates)


def _link_duplicate(
    session: Session, incident_id: int, target: dict[str, Any], actor: str, now: datetime
) -> None:
    """Close a new report as a duplicate of ``target`` (history, link, the target's event)."""
    note = f"重复，并入 {target['code']}"
    _history(session, incident_id, now, actor, "reported", "rejected", note, [])
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
        {**_event_payload(session, target["id"]), "linked_incident_id": incident_id},
        now,
    )


def _history_entry(
    at: datetime,
    frm: str | None,
    to: str,
    actor: str,
    note: str | None,
    attachments: Any,
    full: bool,
) -> dict[str, Any]:
    """One history step as shown to a viewer (actor, note and attachments in scope only)."""
    entry: dict[str, Any] = {"at": _iso(at), "from": frm, "to": to}
    if full:
        entry.update(actor=actor, note=note, attachments=attachments)
    return entry


def _actor(viewer: Viewer, data: IncidentInput | None = None) -> str:
    if viewer.username:
        return f"{viewer.role}:{viewer.username}"
    if data is not None:
        return {"open311": "Open311", "hotline": "12345热线"}.get(data.source, "群众")
    return viewer.role


def _history(
    session: Session,
    incident_id: int,
    at: datetime,
    actor: str,
    frm: str | None,
    to: str,
    note: str | None,
    attachments: Sequence[str],
) -> None:
    session.execute(
        text(
            "INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, "
            "note, attachments) VALUES (:i, :at, :actor, :frm, :to, :note, CAST(:att AS jsonb))"
        ),
        {
            "i": incident_id,
            "at": at,
            "actor": actor,
            "frm": frm,
            "to": to,
            "note": note,
            "att": json.dumps(list(attachments)),
        },
    )


# --- Transitions --------------------------------------------------------------------------------


@dataclass
class TransitionInput:
    to: str
    note: str | None = None
    attachments: list[str] = field(default_factory=list)
    resolution: str | None = None
    duplicate_of: int | None = None
    dispatched_to: str | None = None
    grid_code: str | None = None
    assignee_id: int | None = None
    rating: int | None = None


def _scope_code(row: Any) -> str:
    return str(row.grid_code or row.community_code or row.street_code or row.district_code)


def transition(
    session: Session,
    viewer: Viewer,
    incident_id: int,
    step: TransitionInput,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case one step; the row is locked so two concurrent steps cannot both win.

    Raises Forbidden (403) for anonymous or out-of-scope viewers and roles the step does not
    allow, :class:`~gis.workflow.IllegalTransition` (409, listing the allowed steps) for a step
    the current status does not allow, InvalidInput for missing step data.
    """
    now = now or datetime.now(UTC)
    if viewer.is_public or viewer.username is None:
        raise Forbidden("sign in with a role that works cases to change an incident")
    row = session.execute(
        text(
            """
            SELECT i.id, i.status, i.category, i.rework_count, i.due_at, i.district_code,
                   g.code AS grid_code, c.code AS community_code, s.code AS street_code
            FROM incident i
            LEFT JOIN area g ON g.id = i.grid_id
            LEFT JOIN area c ON c.id = i.community_id
            LEFT JOIN area s ON s.id = i.street_id
            WHERE i.id = :id
            FOR UPDATE OF i
            """
        ),
        {"id": incident_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if not viewer.covers(_scope_code(row)):
        raise Forbidden(f"incident {incident_id} lies outside your area {viewer.scope_code}")
    wf_step = INCIDENT_WORKFLOW.check(row.status, step.to, viewer.role)
    sets: dict[str, Any] = {"status": step.to, "updated_at": now}
    rule = deadline_rule(session, row.category)
    calendar = load_calendar(session)
    note = step.note
    if step.to == "registered":
        sets["due_at"] = stage_deadline(rule, calendar, "registered", now)
    elif step.to == "dispatched":
        if step.grid_code is not None:
            routing = _route_to_grid(session, step.grid_code)
            sets.update(
                grid_id=routing.grid_id,
                community_id=routing.community_id,
                street_id=routing.street_id,
                assignee_id=routing.assignee_id,
                escalation_level="grid",
            )
        if step.dispatched_to is not None:
            if not (1 <= len(step.dispatched_to) <= 200):
                raise InvalidInput(
                    "dispatched_to needs 1 to 200 characters", parameter="dispatched_to"
                )
            sets["dispatched_to"] = step.dispatched_to
        if step.assignee_id is not None:
            sets["assignee_id"] = step.assignee_id
        if row.status == "registered":
            # The handling clock starts at the first dispatch; re-dispatch does not reset it.
            sets["due_at"] = stage_deadline(rule, calendar, "dispatched", now)
    elif step.to == "in_progress" and wf_step.rework:
        sets["rework_count"] = row.rework_count + 1
        note = note or "核查未通过，返工"
    elif step.to == "closed":
        sets["closed_at"] = now
    elif step.to == "evaluated":
        if step.rating is None or not 1 <= step.rating <= 5:
            raise InvalidInput("an evaluation needs a rating from 1 to 5", parameter="rating")
        sets["rating"] = step.rating
    elif step.to == "rejected":
        if step.resolution not in REJECT_RESOLUTIONS:
            raise InvalidInput(
                f"refusing a case needs a resolution: one of {', '.join(REJECT_RESOLUTIONS)}",
                parameter="resolution",
            )
        sets["resolution"] = step.resolution
        sets["due_at"] = None
    if step.resolution is not None and step.to != "rejected":
        raise InvalidInput("resolution applies only when refusing a case", parameter="resolution")
    for url in step.attachments:
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput("attachments must be http(s) URLs", parameter="attachments")
    if step.to == "rejected" and step.resolution == "duplicate":
        if step.duplicate_of is None or step.duplicate_of == incident_id:
            raise InvalidInput(
                "a duplicate needs duplicate_of: the id of the open case it repeats",
                parameter="duplicate_of",
            )
        original = session.execute(
            text("SELECT id, status FROM incident WHERE id = :d"), {"d": step.duplicate_of}
        ).one_or_none()
        if original is None or original.status not in OPEN_STATUSES:
            raise InvalidInput(
                f"incident {step.duplicate_of} is not an open case", parameter="duplicate_of"
            )
        session.execute(
            text(
                "INSERT INTO incident_duplicate (incident_id, duplicate_of, linked_at, linked_by) "
                "VALUES (:i, :d, :now, :by)"
            ),
            {"i": incident_id, "d": step.duplicate_of, "now": now, "by": _actor(viewer)},
        )
    assignments = ", ".join(f"{k} = :{k}" for k in sets)  # keys are ours, values bound
    session.execute(
        text(f"UPDATE incident SET {assignments} WHERE id = :id"), {**sets, "id": incident_id}
    )
    _history(session, incident_id, now, _actor(viewer), row.status, step.to, note, step.attachments)
    append_event(
        session, incident_id, "transition", step.to, _event_payload(session, incident_id), now
    )
    return get_incident(session, viewer, incident_id)


def _route_to_grid(session: Session, grid_code: str) -> Routing:
    row = session.execute(
        text(
            """
            SELECT g.id AS grid_id, g.code AS grid_code, g.district_code,
                   c.id AS community_id, s.id AS street_id
            FROM area g
            LEFT JOIN area c ON c.level = 'community' AND c.valid_to IS NULL
                             AND c.code = left(g.code, 12)
            LEFT JOIN area s ON s.level = 'street' AND s.valid_to IS NULL
                             AND s.code = left(g.code, 9) || '000'
            WHERE g.level = 'grid' AND g.valid_to IS NULL AND g.code = :code
            """
        ),
        {"code": grid_code},
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"no current grid has code {grid_code}", parameter="grid_code")
    worker = session.execute(_WORKER_SQL, {"grid_id": row.grid_id}).scalar_one_or_none()
    return Routing(
        row.district_code,
        row.street_id,
        row.community_id,
        row.grid_id,
        row.grid_code,
        worker,
        False,
        "grid",
    )


# --- Reads --------------------------------------------------------------------------------------


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "kind": row.kind,
        "category": row.category,
        "description": row.description,
        "status": row.status,
        "status_label": STATUS_LABELS_ZH[row.status],
        "resolution": row.resolution,
        "lon": row.lon,
        "lat": row.lat,
        "address": row.address,
        "district_code": row.district_code,
        "street_code": row.street_code,
        "community_code": row.community_code,
        "grid_code": row.grid_code,
        "grid_name": row.grid_name,
        "media_url": row.media_url,
        "reported_at": _iso(row.reported_at),
        "due_at": _iso(row.due_at),
        "closed_at": _iso(row.closed_at),
        "updated_at": _iso(row.updated_at),
        "duplicate_of": row.duplicate_of,
        "in_scope": False,
    }


def _full(row: Any, viewer: Viewer) -> dict[str, Any]:
    unmask = viewer.may_unmask
    out = _public(row)
    out.update(
        in_scope=True,
        source=row.source,
        street_name=row.street_name,
        community_name=row.community_name,
        street_id=row.street_id,
        community_id=row.community_id,
        grid_id=row.grid_id,
        grid_version=row.grid_version,
        unassigned=row.grid_id is None,
        reporter={
            "name": row.reporter_name if unmask else mask_name(row.reporter_name),
            "phone": row.reporter_phone if unmask else mask_phone(row.reporter_phone),
            "email": row.reporter_email if unmask else _mask_email(row.reporter_email),
        },
        assignee=None
        if row.assignee_id is None
        else {
            "id": row.assignee_id,
            "name": row.assignee_name if unmask else mask_name(row.assignee_name),
            "phone": row.assignee_phone if unmask else mask_phone(row.assignee_phone),
        },
        dispatched_to=row.dispatched_to,
        rework_count=row.rework_count,
        rating=row.rating,
        escalation_level=row.escalation_level,
        escalated_at=_iso(row.escalated_at),
        overdue=bool(row.overdue),
        attributes=row.attributes,
        token=str(row.token),
        allowed_transitions=list(INCIDENT_WORKFLOW.allowed(row.status, viewer.role)),
    )
    return out


def _mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if local else email


def present(row: Any, viewer: Viewer) -> dict[str, Any]:
    """A case as this viewer may see it."""
    return _full(row, viewer) if viewer.covers(_scope_code(row)) else _public(row)


def get_incident(
    session: Session, viewer: Viewer, incident_id: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """One case with its history (full history only in scope)."""
    row = session.execute(
        text(_SELECT + " WHERE i.id = :id"),
        {"id": incident_id, "late": list(LATE_STATUSES), "now": now or datetime.now(UTC)},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    out = present(row, viewer)
    history = session.execute(
        text(
            "SELECT id, at, actor, from_status, to_status, note, attachments "
            "FROM incident_transition WHERE incident_id = :id ORDER BY at, id"
        ),
        {"id": incident_id},
    ).all()
    full = out["in_scope"]
    out["history"] = [
        _history_entry(h.at, h.from_status, h.to_status, h.actor, h.note, h.attachments, full)
        for h in history
    ]
    if full:
        out["escalations"] = [
            {"at": _iso(e.at), "from": e.from_level, "to": e.to_level, "due_at": _iso(e.due_at)}
            for e in session.execute(
                text(
                    "SELECT at, from_level, to_level, due_at FROM incident_escalation "
                    "WHERE incident_id = :id ORDER BY at, id"
                ),
                {"id": incident_id},
            ).all()
        ]
        out["duplicates"] = [
            int(r.incident_id)
            for r in session.execute(
                text(
                    "SELECT incident_id FROM incident_duplicate WHERE duplicate_of = :id "
                    "ORDER BY incident_id"
                ),
                {"id": incident_id},
            ).all()
        ]
    return out


@dataclass
class IncidentFilter:
    status: list[str] | None = None
    kind: str | None = None
    category: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    within: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    overdue: bool | None = None
    assignee_id: int | None = None
    unassigned: bool | None = None
    ids: list[int] | None = None
    codes: list[str] | None = None
    resolutions: list[str] | None = None

    def validate(self) -> None:
        for s in self.status or []:
            if s not in STATUSES:
                raise InvalidInput(
                    f"unknown status {s!r}; one of: {', '.join(STATUSES)}", parameter="status"
                )
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput("kind must be event or component", parameter="kind")
        if self.category is not None and self.category not in KIND_OF_CATEGORY:
            raise InvalidInput(f"unknown category {self.category!r}", parameter="category")
        if self.within is not None:
            check_area_code(self.within, "within")
        if self.start and self.end and self.end <= self.start:
            raise InvalidInput("end must be after start", parameter="end")


_WHERE = """
    WHERE (CAST(:statuses AS text[]) IS NULL OR i.status = ANY(CAST(:statuses AS text[])))
      AND (CAST(:kind AS text) IS NULL OR i.kind = :kind)
      AND (CAST(:category AS text) IS NULL OR i.category = :category)
      AND (CAST(:w AS float8) IS NULL OR i.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))
      AND (CAST(:within AS text) IS NULL
           OR coalesce(g.code, c.code, s.code, i.district_code) LIKE :within_like)
      AND (CAST(:start AS timestamptz) IS NULL OR i.reported_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR i.reported_at < :end)
      AND (CAST(:overdue AS boolean) IS NULL
           OR (i.status = ANY(:late) AND i.due_at < :now) = :overdue)
      AND (CAST(:assignee AS bigint) IS NULL OR i.assignee_id = :assignee)
      AND (CAST(:unassigned AS boolean) IS NULL OR (i.grid_id IS NULL) = :unassigned)
      AND (CAST(:ids AS bigint[]) IS NULL OR i.id = ANY(CAST(:ids AS bigint[])))
      AND (CAST(:codes AS text[]) IS NULL OR i.code = ANY(CAST(:codes AS text[])))
      AND (CAST(:resolutions AS text[]) IS NULL
           OR i.resolution = ANY(CAST(:resolutions AS text[])))
"""


def _filter_params(f: IncidentFilter, now: datetime) -> dict[str, Any]:
    w, s, e, n = f.bbox if f.bbox else (None, None, None, None)
    return {
        "statuses": f.status,
        "kind": f.kind,
        "category": f.category,
        "w": w,
        "s": s,
        "e": e,
        "n": n,
        "within": f.within,
        "within_like": None if f.within is None else subtree_prefix(f.within),
        "start": f.start,
        "end": f.end,
        "overdue": f.overdue,
        "assignee": f.assignee_id,
        "unassigned": f.unassigned,
        "ids": f.ids,
        "codes": f.codes,
        "resolutions": f.resolutions,
        "late": list(LATE_STATUSES),
        "now": now,
    }


def list_incidents(
    session: Session,
    viewer: Viewer,
    filters: IncidentFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A page of cases matching ``filters`` (newest first) and the total count."""
    filters.validate()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", parameter="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", parameter="offset")
    if filters.assignee_id is not None and viewer.is_public:
        raise Forbidden("filtering by assignee needs a signed-in role")
    params = _filter_params(filters, now or datetime.now(UTC))
    total = session.execute(
        text(
            "SELECT count(*) FROM incident i LEFT JOIN area s ON s.id = i.street_id "
            "LEFT JOIN area c ON c.id = i.community_id LEFT JOIN area g ON g.id = i.grid_id"
            + _WHERE
        ),
        params,
    ).scalar_one()
    rows = session.execute(
        text(_SELECT + _WHERE + " ORDER BY i.reported_at DESC, i.id DESC LIMIT :lim OFFSET :off"),
        {**params, "lim": limit, "off": offset},
    ).all()
    return {
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "items": [present(r, viewer) for r in rows],
    }


# --- Escalation ---------------------------------------------------------------------------------


def escalate_overdue(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Escalate every overdue open case one level up (grid → community → street → district).

    A case escalates when its deadline has passed and it has not been escalated since, or when
    it stays overdue ``escalate_every_hours`` after its last escalation. Each escalation is a
    row of ``incident_escalation`` and an ``escalated`` event on the stream. Rows are locked
    with SKIP LOCKED so two runs (or a run and a transition) never escalate one case twice.
    """
    now = now or datetime.now(UTC)
    rows = session.execute(
        text(
            """
            SELECT i.id, i.status, i.escalation_level, i.due_at, i.district_code,
                   i.community_id, i.street_id, i.grid_id
            FROM incident i
            JOIN incident_deadline_rule r ON r.category = i.category
            WHERE i.status = ANY(:late) AND i.due_at < :now
              AND i.escalation_level <> 'district'
              AND (i.escalated_at IS NULL OR i.escalated_at < i.due_at
                   OR i.escalated_at <= :now - make_interval(hours => r.escalate_every_hours))
            ORDER BY i.due_at, i.id
            FOR UPDATE OF i SKIP LOCKED
            """
        ),
        {"late": list(LATE_STATUSES), "now": now},
    ).all()
    done = []
    for r in rows:
        to_level = next_escalation_level(r.escalation_level)
        if to_level is None:
            continue
        area_id = {"community": r.community_id, "street": r.street_id}.get(to_level)
        if to_level == "district":
            area_id = session.execute(
                text(
                    "SELECT id FROM area WHERE level = 'district' AND valid_to IS NULL "
                    "AND code = :c"
                ),
                {"c": r.district_code},
            ).scalar_one_or_none()
        session.execute(
            text(
                "INSERT INTO incident_escalation (incident_id, at, from_level, to_level, area_id, "
                "due_at) VALUES (:i, :at, :f, :t, :a, :due)"
            ),
            {
                "i": r.id,
                "at": now,
                "f": r.escalation_level,
                "t": to_level,
                "a": area_id,
                "due": r.due_at,
            },
        )
        session.execute(
            text(
                "UPDATE incident SET escalation_level = :t, escalated_at = :at, updated_at = :at "
                "WHERE id = :i"
            ),
            {"t": to_level, "at": now, "i": r.id},
        )
        payload = {**_event_payload(session, r.id), "from_level": r.escalation_level}
        append_event(session, r.id, "escalated", r.status, payload, now)
        done.append(
            {"incident_id": r.id, "from": r.escalation_level, "to": to_level, "area_id": area_id}
        )
    return done


# --- Metrics and map aggregates -----------------------------------------------------------------

METRIC_LEVELS = ("grid", "community", "street", "district")
PERIODS = ("day", "week", "month", "quarter", "year")


def metrics(
    session: Session,
    *,
    level: str,
    start: datetime,
    end: datetime,
    within: str | None = None,
    period: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """结案率, 按期结案率, 返工率, average handling time and overdue count per area and period.

    Over the cases reported in [start, end): registered = accepted (not reported-only, not
    refused); closure rate = closed / registered; on-time rate = closed by the handling deadline
    / closed; rework rate = registered cases sent back at least once / registered; average
    handling hours = mean of closed_at − reported_at over closed cases; overdue = cases still in
    a running stage whose deadline had passed at min(now, end). Aggregates are public.
    """
    if level not in METRIC_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(METRIC_LEVELS)}", parameter="level")
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}", parameter="period")
    if end <= start:
        raise InvalidInput("end must be after start", parameter="end")
    if within is not None:
        check_area_code(within, "within")
    as_of = min(now or datetime.now(UTC), end)
    rows = session.execute(
        text(read_sql("incident_metrics.sql")),
        {
            "level": level,
            "start": start,
            "end": end,
            "within": within,
            "within_like": None if within is None else subtree_prefix(within),
            "period": period,
            "as_of": as_of,
            "late": list(LATE_STATUSES),
        },
    ).all()
    return [
        {
            "area_code": r.area_code,
            "area_name": r.area_name,
            "period_start": _local(r.period_start),
            "reported": r.reported,
            "registered": r.registered,
            "closed": r.closed,
            "closed_on_time": r.closed_on_time,
            "reworked": r.reworked,
            "overdue": r.overdue,
            "closure_rate": _ratio(r.closed, r.registered),
            "on_time_rate": _ratio(r.closed_on_time, r.closed),
            "rework_rate": _ratio(r.reworked, r.registered),
            "avg_handling_hours": None
            if r.avg_handling_hours is None
            else round(float(r.avg_handling_hours), 3),
        }
        for r in rows
    ]


def _ratio(a: int, b: int) -> float | None:
    return None if not b else round(a / b, 6)


BUCKETS = ("hour", "day", "week", "month")
# Hexagon edge at zoom z ≈ 32 screen pixels, in Web Mercator metres (what the map shows).
HEX_PIXELS = 32
MAX_HEXAGONS = 50_000


def hexagon_size(zoom: int) -> float:
    """Edge length in EPSG:3857 metres of the hexagons shown at ``zoom``.

    >>> round(hexagon_size(14), 1)
    305.7
    """
    return HEX_PIXELS * 156543.03392804097 / 2**zoom


def aggregates(
    session: Session,
    *,
    by: str,
    zoom: int | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bucket: str | None = None,
    filters: IncidentFilter | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Counts per grid, or per hexagon sized for ``zoom``, optionally per time bucket (GeoJSON).

    Public: only counts leave the database, never a case.
    """
    filters = filters or IncidentFilter()
    filters.bbox = bbox
    filters.validate()
    if by not in ("grid", "hex"):
        raise InvalidInput("by must be grid or hex", parameter="by")
    if bucket is not None and bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}", parameter="bucket")
    params = {**_filter_params(filters, now or datetime.now(UTC)), "bucket": bucket}
    if by == "grid":
        sql = read_sql("incident_aggregate_grid.sql").replace("/*WHERE*/", _WHERE)
        rows = session.execute(text(sql), params).all()
        features = [
            {
                "type": "Feature",
                "id": f"{r.code or 'unassigned'}/{_iso(r.bucket) or 'all'}",
                "geometry": json.loads(r.geometry) if r.geometry else None,
                "properties": {
                    "grid_code": r.code,
                    "grid_name": r.name,
                    "bucket": _local(r.bucket),
                    "count": r.n,
                    "open": r.open,
                    "overdue": r.overdue,
                },
            }
            for r in rows
        ]
        return {"type": "FeatureCollection", "features": features}
    if zoom is None or not 0 <= zoom <= 22:
        raise InvalidInput("hexagons need a zoom from 0 to 22", parameter="zoom")
    if bbox is None:
        raise InvalidInput("hexagons need a bbox (the map's view)", parameter="bbox")
    size = hexagon_size(zoom)
    w, s, e, n = bbox
    count = session.execute(
        text(
            "SELECT ST_Area(ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), 3857)) "
            "/ (1.5 * sqrt(3) * :size * :size)"
        ),
        {"w": w, "s": max(s, -85.0), "e": e, "n": min(n, 85.0), "size": size},
    ).scalar_one()
    if count > MAX_HEXAGONS:
        raise InvalidInput(
            f"the view would need about {int(count)} hexagons at zoom {zoom}; zoom in or narrow "
            "the bbox",
            parameter="zoom",
        )
    sql = read_sql("incident_aggregate_hex.sql").replace("/*WHERE*/", _WHERE)
    rows = session.execute(text(sql), {**params, "size": size}).all()
    features = [
        {
            "type": "Feature",
            "id": f"{r.i},{r.j}/{_iso(r.bucket) or 'all'}",
            "geometry": json.loads(r.geometry),
            "properties": {
                "i": r.i,
                "j": r.j,
                "bucket": _local(r.bucket),
                "count": r.n,
                "open": r.open,
                "overdue": r.overdue,
            },
        }
        for r in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "hexagon_size_m": round(size, 3),
        "zoom": zoom,
    }


# --- Open311 service request updates -----------------------------------------------------------


def updates_between(
    session: Session,
    start: datetime,
    end: datetime,
    codes: list[str] | None = None,
    limit: int = 1000,
) -> list[Any]:
    """History rows of [start, end) (public: status, note, time) for Open311 updates."""
    return list(
        session.execute(
            text(
                """
                SELECT t.id, t.at, t.from_status, t.to_status, t.note, t.attachments,
                       i.code, i.resolution, i.media_url
                FROM incident_transition t JOIN incident i ON i.id = t.incident_id
                WHERE t.at >= :start AND t.at < :end
                  AND (CAST(:codes AS text[]) IS NULL OR i.code = ANY(CAST(:codes AS text[])))
                ORDER BY t.at, t.id
                LIMIT :lim
                """
            ),
            {"start": start, "end": end, "codes": codes, "lim": limit},
        ).all()
    )


def add_comment(
    session: Session,
    code: str,
    actor: str,
    description: str,
    media_url: str | None,
    now: datetime | None = None,
) -> int:
    """A reporter's follow-up on a case (Open311 POST servicerequestupdates): a history row
    that keeps the status, plus a stream event. Returns the update id."""
    now = now or datetime.now(UTC)
    row = session.execute(
        text("SELECT id, status FROM incident WHERE code = :c FOR UPDATE"), {"c": code}
    ).one_or_none()
    if row is None:
        raise NotFound(f"no service request {code}")
    if not 1 <= len(description.strip()) <= 2000:
        raise InvalidInput("description needs 1 to 2000 characters", parameter="description")
    attachments = [media_url] if media_url else []
    update_id = session.execute(
        text(
            "INSERT INTO incident_transition (incident_id, at, actor, from_status, to_status, "
            "note, attachments) VALUES (:i, :at, :actor, :s, :s, :note, CAST(:att AS jsonb)) "
            "RETURNING id"
        ),
        {
            "i": row.id,
            "at": now,
            "actor": actor,
            "s": row.status,
            "note": description.strip(),
            "att": json.dumps(attachments),
        },
    ).scalar_one()
    session.execute(
        text("UPDATE incident SET updated_at = :now WHERE id = :i"), {"now": now, "i": row.id}
    )
    append_event(session, row.id, "updated", row.status, _event_payload(session, row.id), now)
    return int(update_id)


def incident_by_token(session: Session, token: str) -> str | None:
    """The case code of an Open311 token, or None."""
    try:
        import uuid

        value = uuid.UUID(token)
    except ValueError:
        return None
    return session.execute(
        text("SELECT code FROM incident WHERE token = :t"), {"t": value}
    ).scalar_one_or_none()


def _local(value: datetime | None) -> str | None:
    """A period or bucket start in China Standard Time, where the day boundaries are drawn."""
    return None if value is None else value.astimezone(CST).isoformat()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def incident_token(session: Session, incident_id: int) -> str:
    """The Open311 token of a case (handed to the client that created it)."""
    return str(
        session.execute(
            text("SELECT token FROM incident WHERE id = :i"), {"i": incident_id}
        ).scalar_one()
    )
