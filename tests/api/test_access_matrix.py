"""The role × endpoint matrix: every route has a scope decision, and no route leaks.

How it works (docs/security.md, "The matrix test"):

1. Every route of ``create_app()`` — API, OGC, Open311, map pages, docs — is enumerated by walking
   the app's routers (FastAPI 0.165 wraps included routers; the OpenAPI document is used as a
   cross-check that the walk misses nothing). Each must carry a scope decision: the route marker
   ``openapi_extra=scope_decision(...)`` (api/security.py) or, for routes whose owners have not
   added one yet, an entry in :data:`DECLARED` below. A route with neither fails
   ``test_every_route_has_a_scope_decision``, which names it and says how to fix it.
2. "scoped" and "personal" routes must depend on ``get_viewer`` (ViewerDep).
3. Every GET route is called as every role (each account scoped as narrowly as the role normally
   is, see tests/api/security_helpers.py) and as the anonymous public, with sample path and query
   values from the demo city, including rows inside and outside each viewer's scope. Every
   response (JSON, HTML, text, vector tiles) is scanned for personal values — names, 18-digit ID
   numbers and 11-digit mobiles of residents, party members, staff and incident reporters, looked
   up in the database with the area each belongs to — and for household and incident codes. A
   personal value is allowed only unmasked for a role that may unmask and a row in its scope; a
   household code only in scope; an incident code on a scoped route only in scope. Any 5xx fails.

New routes are picked up automatically; a path or query parameter the test cannot fill from
:func:`path_candidates`/:func:`query_sample` (or the parameter's enum/default) fails with its name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Any, get_args

import mapbox_vector_tile
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.security import SCOPE_KEY, SCOPE_KINDS, get_viewer
from gis.db import get_session
from gis.scope import Viewer
from tests.api.security_helpers import DemoAreas, demo_areas, role_viewers

# Scope decisions for routes that do not (yet) carry the ``x-gridgov-scope`` marker.
# "public": public information, personal fields masked for everyone; "scoped": rows limited to
# the viewer's subtree; "personal": personal records; "auth": sign-in. Page shells are public:
# their data comes from the API with the session cookie, and their HTML is scanned like any body.
DECLARED: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/static"): "public",
    ("GET", "/api/v1/health"): "public",
    ("GET", "/api/v1/health/live"): "public",
    ("GET", "/"): "public",
    ("GET", "/map/layers/{level}.geojson"): "public",
    ("GET", "/command"): "public",
    ("GET", "/grid/{code}"): "public",
    ("GET", "/plan"): "public",
    ("GET", "/plan/history"): "public",
    ("GET", "/field"): "public",  # the field-work page shell; its data comes from /api/v1/field
    # The installable app's manifest and service worker (web/pwa.py): fixed files, no data.
    ("GET", "/manifest.webmanifest"): "public",
    ("GET", "/sw.js"): "public",
    # The admins' audit page is a shell (an admin check, a form); its rows come from
    # /api/v1/audit/disclosures, which is marked "personal" on the route.
    ("GET", "/admin/audit"): "public",
    # The 组织生活 page shell; its rows come from /api/v1/org-life (marked on each route).
    ("GET", "/party/org-life"): "public",
    # Serving residents (web/residents_pages.py): the community's public notice board (notices
    # to whole areas, masked ranking), the resident's own page by his signed link, and the staff
    # desk (a page like /field: signed in through the page's cookie, not get_viewer; its rows
    # come from gis/residents limited to the viewer's scope, and are scanned like any body).
    ("GET", "/communities/{code}/notice-board"): "public",
    ("GET", "/r/{credential}"): "public",
    ("GET", "/residents"): "public",
    # The same resident's page for his own resident account (his own values only).
    ("GET", "/resident/services"): "public",
    # The 党员管理 page shell (rows from /api/v1/party/members) and the chain page (its tree
    # from /api/v1/party/chain, public like the party_orgs layer).
    ("GET", "/party/members"): "public",
    ("GET", "/party/chain"): "public",
    # The 双报到 page shell; its rows come from /api/v1/dual-report and /service-orders.
    ("GET", "/party/dual"): "public",
    # The pages of petitions (诉求) and mediation (三级调解): shells whose rows come from
    # /api/v1/petitions and /api/v1/disputes (marked on each route).
    ("GET", "/resident"): "public",
    ("GET", "/command/petitions"): "public",
    ("GET", "/mediation"): "public",
    # The reporter's rating page: the case's public fields, reached by his signed link or token.
    ("GET", "/rate/{credential}"): "public",
    ("POST", "/rate/{credential}"): "public",
    # Spatial REST API: boundaries, locate, analysis are public; search may return people.
    ("GET", "/api/v1/areas"): "public",
    ("GET", "/api/v1/areas/{code}"): "public",
    ("GET", "/api/v1/locate"): "public",
    ("GET", "/api/v1/analysis/service-coverage"): "public",
    ("GET", "/api/v1/analysis/blank-spots"): "public",
    ("GET", "/api/v1/search"): "scoped",
    ("GET", "/api/v1/export/{layer}"): "scoped",
    ("GET", "/api/v1/history/areas"): "public",
    ("GET", "/api/v1/history/buildings/{code}"): "public",
    ("GET", "/api/v1/history/diff"): "public",
    ("GET", "/api/v1/history/lineage/{code}"): "public",
    # Incidents: what, where, when and the status are public facts (Open311 GET publishes them
    # by standard); reporters' and staff's personal fields are masked, which the scan checks.
    ("GET", "/api/v1/incidents"): "public",
    ("GET", "/api/v1/incidents/{incident_id}"): "public",
    ("GET", "/api/v1/incidents/stream"): "scoped",
    ("GET", "/api/v1/incidents/aggregates"): "public",
    ("GET", "/api/v1/incidents/metrics"): "public",
    ("POST", "/api/v1/incidents"): "public",
    ("POST", "/api/v1/incidents/{incident_id}/transitions"): "scoped",
    ("POST", "/api/v1/incidents/escalations"): "scoped",
    # OGC API: the catalogue is public; items and tiles mix public collections with personal
    # ones (households), which the scan checks row by row whatever the decision.
    ("GET", "/ogc"): "public",
    ("GET", "/ogc/conformance"): "public",
    ("GET", "/ogc/collections"): "public",
    ("GET", "/ogc/collections/{collection_id}"): "public",
    ("GET", "/ogc/collections/{collection_id}/items"): "public",
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): "public",
    ("GET", "/ogc/tileMatrixSets"): "public",
    ("GET", "/ogc/tileMatrixSets/{tileMatrixSetId}"): "public",
    ("GET", "/ogc/collections/{collection_id}/tiles"): "public",
    ("GET", "/ogc/collections/{collection_id}/tiles/{tileMatrixSetId}"): "public",
    ("GET", "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json"): "public",
    ("GET", "/ogc/collections/{collection_id}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"): "public",
    # Boundary planning: drafts belong to planners, within their scope.
    ("POST", "/api/v1/plan/drafts"): "scoped",
    ("GET", "/api/v1/plan/drafts"): "scoped",
    ("GET", "/api/v1/plan/drafts/{changeset_id}"): "scoped",
    ("PATCH", "/api/v1/plan/drafts/{changeset_id}"): "scoped",
    ("DELETE", "/api/v1/plan/drafts/{changeset_id}"): "scoped",
    ("POST", "/api/v1/plan/drafts/{changeset_id}/operations"): "scoped",
    ("POST", "/api/v1/plan/drafts/{changeset_id}/upload"): "scoped",
    ("POST", "/api/v1/plan/drafts/{changeset_id}/undo"): "scoped",
    ("POST", "/api/v1/plan/drafts/{changeset_id}/redo"): "scoped",
    ("GET", "/api/v1/plan/drafts/{changeset_id}/validation"): "scoped",
    ("GET", "/api/v1/plan/drafts/{changeset_id}/impact"): "scoped",
    ("POST", "/api/v1/plan/drafts/{changeset_id}/commit"): "scoped",
    ("POST", "/api/v1/plan/changesets/{changeset_id}/revert"): "scoped",
    ("POST", "/api/v1/plan/repair-preview"): "scoped",
    # Open311 GeoReport v2: public by the standard, public fields only (no reporter data).
    ("GET", "/open311/v2/discovery.{fmt}"): "public",
    ("GET", "/open311/v2/services.{fmt}"): "public",
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): "public",
    ("GET", "/open311/v2/requests.{fmt}"): "public",
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): "public",
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): "public",
    ("POST", "/open311/v2/requests.{fmt}"): "public",
    ("GET", "/open311/v2/servicerequestupdates.{fmt}"): "public",
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): "public",
    # Service orders (群众点单、党员接单): residents' orders are personal, in scope.
    ("POST", "/api/v1/service-orders"): "scoped",
    ("GET", "/api/v1/service-orders"): "scoped",
    ("GET", "/api/v1/service-orders/stars"): "public",
    ("GET", "/api/v1/service-orders/{order_id}"): "scoped",
    ("POST", "/api/v1/service-orders/{order_id}/transitions"): "scoped",
}
# Infinite event streams cannot be read to the end by a test client; they still need a decision
# and (when scoped) the viewer dependency, and are checked by their owners' live-server tests.
# Marks a sample for an object the demo city does not have (e.g. no plan drafts yet).
SYNTHETIC = "synthetic:"
STREAMING_PATH = re.compile(r"(/stream|/events|/sse)(/|$)")

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9X](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
HOUSEHOLD_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]{6}H[0-9]{9}(?![0-9A-Za-z])")
PERSONAL_KEY = re.compile(r"(name|phone|mobile|tel|id_?number|id_?card|身份证|姓名|电话)", re.I)


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    decision: str | None
    route: Any

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every (method, path) the app serves, with its declared scope decision."""
    for entry in app.routes:
        contexts = getattr(entry, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                route = ctx.original_route
                extra = ctx.openapi_extra or getattr(route, "openapi_extra", None) or {}
                for method in sorted(getattr(route, "methods", None) or {"GET"}):
                    if method == "HEAD":
                        continue
                    yield RouteInfo(method, ctx.path, extra.get(SCOPE_KEY), route)
        else:
            methods = getattr(entry, "methods", None) or {"GET"}
            extra = getattr(entry, "openapi_extra", None) or {}
            for method in sorted(methods):
                if method != "HEAD":
                    yield RouteInfo(method, entry.path, extra.get(SCOPE_KEY), entry)  # type: ignore[attr-defined]


def decision_of(info: RouteInfo) -> str | None:
    return info.decision or DECLARED.get((info.method, info.path))


APP = create_app()
ROUTES = list(iter_routes(APP))
GET_ROUTES = [r for r in ROUTES if r.method == "GET" and isinstance(r.route, APIRoute)]


def test_the_route_walk_sees_every_documented_operation() -> None:
    walked = {(r.method, r.path) for r in ROUTES}
    documented = {
        (method.upper(), path)
        for path, operations in APP.openapi()["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented - walked == set()


def test_every_route_has_a_scope_decision() -> None:
    missing = [r.label for r in ROUTES if decision_of(r) is None]
    invalid = [
        f"{r.label}: {decision_of(r)!r}"
        for r in ROUTES
        if decision_of(r) not in (None, *SCOPE_KINDS)
    ]
    assert not missing, (
        "these routes have no scope decision; add openapi_extra=scope_decision('public'|"
        "'scoped'|'personal'|'auth') from api/security.py to the route (or an entry in DECLARED "
        "in tests/api/test_access_matrix.py): " + ", ".join(missing)
    )
    assert not invalid, "unknown scope decisions: " + ", ".join(invalid)


def test_declared_table_has_no_stale_entries() -> None:
    present = {(r.method, r.path) for r in ROUTES}
    stale = sorted(f"{m} {p}" for m, p in DECLARED if (m, p) not in present)
    assert not stale, "DECLARED lists routes the app no longer has: " + ", ".join(stale)


def _depends_on_viewer(dependant: Any) -> bool:
    if getattr(dependant, "call", None) is get_viewer:
        return True
    return any(_depends_on_viewer(d) for d in getattr(dependant, "dependencies", []))


def test_scoped_routes_take_the_viewer() -> None:
    blind = [
        r.label
        for r in ROUTES
        if decision_of(r) in {"scoped", "personal"}
        and not _depends_on_viewer(getattr(r.route, "dependant", None))
    ]
    assert not blind, (
        "these scoped/personal routes do not depend on get_viewer (take viewer: ViewerDep): "
        + ", ".join(blind)
    )


# --- what the database says is personal ------------------------------------------------------


@dataclass
class PersonalIndex:
    """Personal values and row codes of the demo city, each with the area codes it belongs to."""

    personal: dict[str, set[str]] = field(default_factory=dict)
    households: dict[str, str] = field(default_factory=dict)
    incidents: dict[str, str] = field(default_factory=dict)

    def add(self, value: str | None, code: str | None) -> None:
        if value and code and len(value) >= 2:
            self.personal.setdefault(value, set()).add(code)


@pytest.fixture(scope="module")
def personal_index(demo_database_url: str) -> PersonalIndex:
    index = PersonalIndex()
    with psycopg.connect(demo_database_url) as conn:
        for name, id_number, phone, code in conn.execute(
            "SELECT r.name, r.id_number, r.phone, g.code FROM resident r"
            " JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id"
        ):
            for value in (name, id_number, phone):
                index.add(value, code)
        for name, id_number, phone, code in conn.execute(
            "SELECT p.name, p.id_number, p.phone, coalesce(a.code, oa.code, p.district_code)"
            " FROM person p LEFT JOIN grid_staff s ON s.person_id = p.id"
            " LEFT JOIN area a ON a.id = s.area_id"
            " LEFT JOIN party_org o ON o.secretary_id = p.id LEFT JOIN area oa ON oa.id = o.area_id"
        ):
            for value in (name, id_number, phone):
                index.add(value, code)
        for inc_code, name, phone, code in conn.execute(
            "SELECT i.code, i.reporter_name, i.reporter_phone, coalesce(g.code, i.district_code)"
            " FROM incident i LEFT JOIN area g ON g.id = i.grid_id"
        ):
            index.add(name, code)
            index.add(phone, code)
            index.incidents[inc_code] = code
        # Petitioners (诉求) and the parties of disputes (三级调解), by the area of their case.
        for name, phone, id_number, code in conn.execute(
            "SELECT p.petitioner_name, p.petitioner_phone, NULL, coalesce(g.code, c.code)"
            " FROM petition p LEFT JOIN area g ON g.id = p.grid_id"
            " JOIN area c ON c.id = p.community_id"
            " UNION ALL SELECT dp.name, dp.phone, dp.id_number, coalesce(g.code, c.code)"
            " FROM dispute_party dp JOIN dispute d ON d.id = dp.dispute_id"
            " LEFT JOIN area g ON g.id = d.grid_id JOIN area c ON c.id = d.community_id"
        ):
            for value in (name, phone, id_number):
                index.add(value, code)
        for h_code, code in conn.execute(
            "SELECT h.code, g.code FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id"
        ):
            index.households[h_code] = code
    return index


# --- scanning responses ----------------------------------------------------------------------


def subtree_prefix(code: str) -> str:
    """The prefix every code in an area's subtree starts with.

    A street's 12-digit code ends in 000 and its communities share only its first 9 digits
    (620881001000 ⊃ 620881001001), so a plain startswith on the street code is wrong.
    """
    return code[:9] if len(code) == 12 and code.endswith("000") else code


def covers(viewer: Viewer, code: str) -> bool:
    """Whether ``code`` lies in the viewer's subtree (independent of gis.scope, on purpose)."""
    if viewer.scope_code is None:
        return False
    return code.startswith(subtree_prefix(viewer.scope_code))


def _may_see(viewer: Viewer, codes: set[str]) -> bool:
    return viewer.may_unmask and any(covers(viewer, c) for c in codes)


def own_values(session: Session, viewer: Viewer) -> frozenset[str]:
    """A party member's or a resident's own name, ID number and phone (his account's linked
    member record or resident): his own record is his to read (PIPL art. 45), and only his
    (/party/members/me, /api/v1/resident-self)."""
    rows = session.execute(
        text(
            "SELECT r.name, r.id_number, r.phone FROM app_user u"
            " JOIN party_member m ON m.id = u.member_id JOIN resident r ON r.id = m.resident_id"
            " WHERE u.id = :u"
            " UNION ALL SELECT r.name, r.id_number, r.phone FROM app_user u"
            " JOIN resident r ON r.id = u.resident_id WHERE u.id = :u"
        ),
        {"u": viewer.user_id},
    ).all()
    return frozenset(v for row in rows for v in row if v)


class Scanner:
    def __init__(
        self,
        index: PersonalIndex,
        viewer: Viewer,
        decision: str,
        where: str,
        own: frozenset[str] = frozenset(),
    ) -> None:
        self.index = index
        self.viewer = viewer
        self.decision = decision
        self.where = where
        self.own = own
        self.problems: list[str] = []

    def _flag(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def text(self, value: str, key: str = "") -> None:
        codes = self.index.personal.get(value)
        if value in self.own:
            return
        if codes is not None and not _may_see(self.viewer, codes):
            self._flag(f"personal value {value!r} (field {key or '?'}) of area {sorted(codes)[0]}")
            return
        for pattern in (ID_NUMBER, MOBILE):
            for match in pattern.finditer(value):
                token = match.group(0)
                known = self.index.personal.get(token)
                if token in self.own:
                    continue
                if known is not None:
                    if not _may_see(self.viewer, known):
                        self._flag(f"personal value {token!r} of area {sorted(known)[0]}")
                elif PERSONAL_KEY.search(key) and not self.viewer.may_unmask:
                    self._flag(f"unmasked-looking {key}={token!r}")
        for match in HOUSEHOLD_CODE.finditer(value):
            grid = self.index.households.get(match.group(0))
            if grid is not None and not covers(self.viewer, grid):
                self._flag(f"household {match.group(0)} of grid {grid} is outside the scope")
        if self.decision in {"scoped", "personal"}:
            grid = self.index.incidents.get(value)
            if grid is not None and not covers(self.viewer, grid):
                self._flag(f"incident {value} of area {grid} is outside the scope")

    def walk(self, value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                self.walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                self.walk(v, key)
        elif isinstance(value, str):
            self.text(value, key)
        elif isinstance(value, int) and not isinstance(value, bool):
            self.text(str(value), key)

    def response(self, content_type: str, body: bytes) -> None:
        if "json" in content_type:
            try:
                self.walk(json.loads(body))
            except ValueError:
                self.text(body.decode("utf-8", "replace"))
        elif "vnd.mapbox-vector-tile" in content_type or "protobuf" in content_type:
            if body:
                self.walk(mapbox_vector_tile.decode(body))
        else:
            # HTML, CSV, plain text, archives: scan the text for ID numbers, mobiles and codes.
            self.text(body.decode("utf-8", "replace"))


# --- sample parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class Samples:
    areas: DemoAreas
    households: list[str]
    incidents: list[str]
    incident_ids: list[str]
    buildings: list[str]
    collections: list[str]
    tile: tuple[int, int, int]
    point: tuple[float, float]
    city_bbox: str
    first_ids: dict[str, list[str]]
    service_codes: list[str]
    # Regional units (单位) of the viewer's community and of another street.
    units: list[str] = field(default_factory=list)


def _first(session: Session, sql: str, **params: Any) -> list[str]:
    return [r[0] for r in session.execute(text(sql), params).all()]


def build_samples(session: Session, areas: DemoAreas) -> Samples:
    households = []
    for grid in (areas.grid, areas.sibling_grid, areas.other_grid):
        households += _first(
            session,
            "SELECT h.code FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.code = :g ORDER BY h.code LIMIT 1",
            g=grid,
        )
    incidents = []
    incident_ids = []
    for grid in (areas.grid, areas.other_grid):
        for code, id_ in session.execute(
            text(
                "SELECT i.code, i.id FROM incident i JOIN area g ON g.id = i.grid_id"
                " WHERE g.code = :g ORDER BY i.code LIMIT 1"
            ),
            {"g": grid},
        ).all():
            incidents.append(code)
            incident_ids.append(str(id_))
    buildings = _first(
        session,
        "SELECT b.code FROM building b JOIN area g ON g.id = b.grid_id WHERE g.code = :g"
        " ORDER BY b.code LIMIT 1",
        g=areas.grid,
    )
    lon, lat = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM area"
            " WHERE code = :g AND valid_to IS NULL) x"
        ),
        {"g": areas.grid},
    ).one()
    w, s, e, n = session.execute(
        text(
            "SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM"
            " (SELECT ST_Extent(geom) AS x FROM area WHERE valid_to IS NULL) t"
        )
    ).one()
    import math

    z = 16
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    try:
        from gis.collections import COLLECTIONS

        collections = (
            [c.id for c in COLLECTIONS.values()]
            if isinstance(COLLECTIONS, dict)
            else [c.id for c in COLLECTIONS]
        )
    except ImportError:
        collections = []
    return Samples(
        areas=areas,
        households=households,
        incidents=incidents,
        incident_ids=incident_ids,
        buildings=buildings,
        collections=collections,
        tile=(z, x, y),
        first_ids=_first_ids(session),
        service_codes=_open311_service_codes(),
        point=(lon, lat),
        city_bbox=f"{w:.5f},{s:.5f},{e:.5f},{n:.5f}",
        units=[
            code
            for community in (areas.community, areas.other_street[:9] + "001")
            for code in _first(
                session,
                "SELECT u.code FROM regional_unit u JOIN area c ON c.id = u.community_id"
                " WHERE c.code = :c ORDER BY u.code LIMIT 1",
                c=community,
            )
        ],
    )


def _first_ids(session: Session) -> dict[str, list[str]]:
    """The lowest and highest id of every table, for ``<table>_id`` path parameters."""
    ids: dict[str, list[str]] = {}
    tables = session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    for table in tables:
        has_id = session.execute(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'"
                " AND table_name = :t AND column_name = 'id'"
                " AND data_type IN ('bigint', 'integer', 'smallint')"
            ),
            {"t": table},
        ).first()
        if has_id:
            # The table name comes from the catalogue, not from input; quote it anyway.
            row = session.execute(text(f'SELECT min(id), max(id) FROM "{table}"')).one()
            ids[table] = sorted({str(v) for v in row if v is not None}) or [SYNTHETIC + "1"]
    return ids


def _open311_service_codes() -> list[str]:
    try:
        from api.routers.open311 import SERVICES
    except ImportError:
        return []
    return [SERVICES[0][0]] if SERVICES else []


def path_candidates(name: str, path: str, s: Samples) -> list[str] | None:
    a = s.areas
    area_codes = [a.grid, a.sibling_grid, a.other_grid, a.community, a.street, a.other_street]
    lowered = path.lower()
    if name in {"collection_id", "collectionId", "collection"}:
        return s.collections
    if name in {"z", "tileMatrix"}:
        return [str(s.tile[0])]
    if name in {"x", "tileCol"}:
        return [str(s.tile[1])]
    if name in {"y", "tileRow"}:
        return [str(s.tile[2])]
    if name == "tileMatrixSetId":
        return ["WebMercatorQuad"]
    if name == "level":
        return ["street", "community", "grid"]
    if name == "fmt":
        return ["json", "xml"]
    if name == "service_code":
        return s.service_codes
    if name == "token":
        return [SYNTHETIC + "no-such-token"]
    if name == "credential":  # a rating credential: a well-formed Open311 token, so it is looked up
        return [SYNTHETIC + "00000000-0000-4000-8000-000000000000"]
    if name == "incident_id":
        return s.incident_ids
    if name.endswith("_id"):
        stem = name[: -len("_id")]
        tables = [t for t in s.first_ids if t == stem] or sorted(
            t for t in s.first_ids if t.endswith("_" + stem)
        )
        if tables:
            return s.first_ids[tables[0]]
    if name in {"code", "feature_id", "featureId", "id", "service_request_id", "incident_code"}:
        if "/units/{code}" in lowered:  # regional units (单位): DW + their community's code
            return s.units
        if "/branches/{code}" in lowered:  # party branches: DZ + the grid's or community's code
            return ["DZ" + a.grid, "DZ" + a.sibling_grid, "DZ" + a.other_grid, "DZ" + a.community]
        if "/communities/{code}" in lowered:
            return [a.community, a.other_street[:9] + "001"]
        if "household" in lowered:
            return s.households
        if "incident" in lowered or "request" in lowered or "open311" in lowered:
            return s.incidents
        if "building" in lowered:
            return s.buildings
        if "grid" in lowered or "area" in lowered or "lineage" in lowered:
            return area_codes
        return [*s.households, *s.incidents, *s.buildings, a.grid, a.other_grid]
    return None


def query_sample(name: str, s: Samples) -> str | None:
    lon, lat = s.point
    return {
        "bbox": s.city_bbox,
        "lon": f"{lon:.6f}",
        "lat": f"{lat:.6f}",
        "longitude": f"{lon:.6f}",
        "latitude": f"{lat:.6f}",
        "point": f"{lon:.6f},{lat:.6f}",
        "q": "张",
        "query": "张",
        "search": "张",
        "within": s.areas.district,
        "area": s.areas.district,
        "community": s.areas.community,
        "street": s.areas.street,
        "grid": s.areas.grid,
        "purpose": "matrix-test",
        "subject": "household:" + s.households[0],
        "from": "2020-01-01",
        "start": "2020-01-01T00:00:00+08:00",
        "end": "2030-01-01T00:00:00+08:00",
        "as_of": "2026-01-01",
        "year": "2026",
    }.get(name)


def _enum_or_default(field_info: Any) -> str | None:
    options = [o for o in get_args(field_info.annotation) if isinstance(o, str)]
    for arg in get_args(field_info.annotation):
        options += [o for o in get_args(arg) if isinstance(o, str)]
    if options:
        return options[0]
    default = field_info.get_default()
    if default is not None and not callable(default) and str(default) != "PydanticUndefined":
        return str(default)
    return None


@dataclass
class Call:
    path: str
    params: dict[str, str]


def _path_params(dependant: Any) -> Iterator[Any]:
    """The path parameters of a route's dependant and of all its sub-dependencies."""
    yield from dependant.path_params
    for sub in dependant.dependencies:
        yield from _path_params(sub)


def calls_for(info: RouteInfo, s: Samples) -> tuple[list[Call], list[str], bool]:
    """Every sample call of a route, the parameters the test could not fill, and whether some
    path value is synthetic (the demo city has no such object, so a 404 is the right answer)."""
    dependant = info.route.dependant
    missing: list[str] = []
    choices: list[list[tuple[str, str]]] = []
    # A path parameter may be read by a dependency (the resident link's credential), so the
    # path's parameters come from the flattened dependant; each alias once.
    path_params = {p.alias: p for p in _path_params(dependant)}
    for param in path_params.values():
        values = path_candidates(param.alias, info.path, s)
        if not values:
            option = _enum_or_default(param.field_info)
            values = [option] if option else []
        if not values:
            missing.append(f"path parameter {param.alias}")
            continue
        choices.append([(param.alias, v) for v in values])
    required: dict[str, str] = {}
    optional: dict[str, str] = {}
    for param in dependant.query_params:
        value = query_sample(param.alias, s)
        if param.field_info.is_required():
            value = value or _enum_or_default(param.field_info)
            if value is None:
                missing.append(f"query parameter {param.alias}")
            else:
                required[param.alias] = value
        elif value is not None:
            optional[param.alias] = value
    calls = []
    synthetic = False
    for combo in product(*choices):
        path = info.path
        for name, value in combo:
            synthetic |= value.startswith(SYNTHETIC)
            path = path.replace("{" + name + "}", value.removeprefix(SYNTHETIC))
        calls.append(Call(path, dict(required)))
        if optional:
            calls.append(Call(path, {**required, **optional}))
    return calls, missing, synthetic


# --- the matrix ------------------------------------------------------------------------------


@pytest.fixture
def matrix(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, tuple[Viewer, dict[str, str]]], Samples]]:
    # The matrix sends hundreds of anonymous requests; rate limits are tested elsewhere.
    monkeypatch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "1000000")
    app = create_app()

    def _session() -> Iterator[Session]:
        # Like gis.db.get_session: a failed request rolls back to its savepoint.
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    areas = demo_areas(db_session)
    viewers = role_viewers(db_session, areas)
    samples = build_samples(db_session, areas)
    # Persist the accounts in the test's outer transaction: a failed request rolls back only
    # its own savepoint, never them.
    db_session.commit()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, viewers, samples


@pytest.mark.parametrize("info", GET_ROUTES, ids=[r.label for r in GET_ROUTES])
def test_no_route_leaks_to_any_role(
    info: RouteInfo,
    matrix: tuple[TestClient, dict[str, tuple[Viewer, dict[str, str]]], Samples],
    personal_index: PersonalIndex,
    db_session: Session,
) -> None:
    decision = decision_of(info)
    assert decision is not None, f"{info.label} has no scope decision"
    if STREAMING_PATH.search(info.path):
        # An event stream never ends, so it is not read here (no skip: CI forbids skips); it
        # must still be scoped by the viewer, and its owner's live-server tests read it.
        assert decision == "public" or _depends_on_viewer(info.route.dependant), info.label
        return
    client, viewers, samples = matrix
    calls, missing, synthetic = calls_for(info, samples)
    assert not missing, (
        f"{info.label}: the matrix has no sample for {', '.join(missing)}; add one to "
        "path_candidates/query_sample in tests/api/test_access_matrix.py"
    )
    problems: list[str] = []
    answered = 0
    for role, (viewer, headers) in viewers.items():
        for call in calls:
            where = f"{role} GET {call.path}?{'&'.join(f'{k}={v}' for k, v in call.params.items())}"
            response = client.get(call.path, params=call.params, headers=headers)
            if response.status_code >= 500:
                problems.append(f"{where}: server error {response.status_code}")
                continue
            if response.status_code >= 400:
                continue
            answered += 1
            own = own_values(db_session, viewer)
            scanner = Scanner(personal_index, viewer, decision, where, own)
            scanner.response(response.headers.get("content-type", ""), response.content)
            problems += scanner.problems
    assert not problems, f"{len(problems)} leaks or errors:\n" + "\n".join(problems[:25])
    # Not vacuous: the route answered someone, and every account was still signed in at the end.
    assert answered or synthetic, (
        f"{info.label}: no role got a 2xx/3xx answer; the samples do not reach it"
    )
    for role, (viewer, headers) in viewers.items():
        if not viewer.is_public:
            assert client.get("/api/v1/auth/me", headers=headers).status_code == 200, role


def test_the_scanner_catches_leaks(personal_index: PersonalIndex) -> None:
    """The detector itself: an unmasked resident and an out-of-scope household are caught."""
    value, codes = next(
        (v, c) for v, c in personal_index.personal.items() if ID_NUMBER.fullmatch(v)
    )
    grid = sorted(codes)[0]
    household = next(h for h, g in personal_index.households.items() if g != grid)
    outsider = Viewer("x", "grid_chief", grid)
    scanner = Scanner(personal_index, outsider, "personal", "probe")
    scanner.walk({"id_number": value, "items": [{"code": household}]})
    assert len(scanner.problems) == 1  # the ID is in the chief's grid; the household is not
    public = Scanner(personal_index, Viewer(None, "public", None), "public", "probe")
    public.walk({"id_number": value, "masked": value[:6] + "*" * 8 + value[-4:]})
    assert len(public.problems) == 1
    planner = Scanner(personal_index, Viewer("p", "planner", "620881"), "public", "probe")
    planner.text(f"<td>{value}</td>")
    assert len(planner.problems) == 1
