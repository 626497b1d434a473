"""The database down or restarting: every route answers 503 with Retry-After in its own format.

Never a 500: JSON API → problem+json, OGC → its exception JSON, Open311 → its error array (JSON or
XML by extension), pages → an HTML page, /api/v1/health → its status body. And the app reconnects
by itself when the database is back: a real PostgreSQL is stopped and started under it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from gis.migrate import upgrade
from gis.pgcluster import APP_ROLE, OWNER_ROLE, EmbeddedCluster, find_bindir
from gis.residents import links
from gridgov.liveserver import free_port
from tests.api.security_helpers import demo_areas, role_viewers
from tests.api.test_access_matrix import STREAMING_PATH, build_samples, calls_for, iter_routes
from tests.api.test_commit_before_response import NO_WRITE, WRITES, Call, World
from tests.api.unavailable_helpers import app_database, unavailable_problems
from tests.conftest import unavailable

# Routes that serve without the database, so answer as usual during an outage. Every other
# route must answer 503; a new route that needs no database belongs here, with the reason.
SERVES_WITHOUT_DATABASE = {
    "GET /docs",  # a static page
    "GET /api/v1/health/live",  # liveness: the worker answers, whatever the database does
    "GET /openapi.json",  # built from the code (in production, admins only: then it asks)
    "GET /login",  # the sign-in form itself
    "GET /logout",  # clears a cookie
    "POST /logout",
    "GET /ogc",  # OGC landing page, conformance and tile matrix sets: fixed documents
    "GET /ogc/conformance",
    "GET /ogc/tileMatrixSets",
    "GET /ogc/tileMatrixSets/{tileMatrixSetId}",
    "GET /open311/v2/discovery.{fmt}",  # the Open311 service list is the code's vocabulary
    "GET /open311/v2/services.{fmt}",
    "GET /open311/v2/services/{service_code}.{fmt}",
    "POST /api/v1/plan/repair-preview",  # pure geometry on the caller's input
    "GET /plan",  # the planner's page shell; its data comes from the API
    "GET /plan/history",  # the boundary history page shell; its data comes from the API
    "GET /field",  # the field-work page shell; its data comes from /api/v1/field
    "GET /manifest.webmanifest",  # the installable app's manifest (web/pwa.py), fixed
    "GET /sw.js",  # its service worker, a static script
    "GET /admin/audit",  # the admins' page shell (a visitor is sent to sign in); data via API
    "GET /party/org-life",  # the 组织生活 page shell (a visitor is sent to sign in); data via API
    "GET /party/members",  # the 党员管理 page shell (a visitor is sent to sign in); data via API
    "GET /party/chain",  # the chain page shell; its tree comes from /api/v1/party/chain
    # The pages of petitions and mediation (web/resident_pages.py): shells, data via the API.
    "GET /resident",
    "GET /command/petitions",
    "GET /mediation",
    "GET /api/v1/org-life/rules",  # the rules are the code's vocabulary (gis/orglife/rules.py)
    "GET /api/v1/party/vocabulary",  # the register's labels (gis/party/vocabulary.py)
    "GET /api/v1/dual-report/vocabulary",  # the code's vocabulary (gis/dual/vocabulary.py)
    "GET /api/v1/regional/vocabulary",  # the code's vocabulary (gis/regional/vocabulary.py)
    "GET /party/dual",  # the 双报到 page shell (a visitor is sent to sign in); data via API
    "GET /api/v1/residents/vocabulary",  # the code's vocabulary (gis/residents/vocabulary.py)
    "GET /residents",  # the staff desk: a visitor is sent to sign in before any lookup
    "GET /resident/services",  # a resident's own page: a visitor is sent to sign in first
    "GET /ogc/collections/{collection_id}/tiles",  # the tileset list of a collection
    "GET /ogc/api",  # the OGC routes' OpenAPI document, built from the code
    # The queryables are the collections' declared schema (gis/collections.py), not data.
    "GET /ogc/collections/{collection_id}/queryables",
}
# A resident's link signed for real (its signature is checked before any lookup), so that the
# routes behind it reach the database.
RESIDENT_LINK = links.token(1, datetime.datetime.now(datetime.UTC))
RESIDENT_LINK_PAGES = {"/r/{credential}", "/api/v1/resident-link/{credential}"}
ROUTES = [r for r in iter_routes(create_app()) if hasattr(r.route, "dependant")]


@pytest.fixture
def outage_world(db_session: Session) -> Iterator[World]:
    """The app bound to a port where no PostgreSQL listens, with samples from the demo city."""
    areas = demo_areas(db_session)
    viewers = role_viewers(db_session, areas)  # tokens are signed; checking them needs the DB
    samples = build_samples(db_session, areas)
    closed = f"postgresql://gridgov:x@127.0.0.1:{free_port()}/gridgov"
    objects: dict[str, Any] = {
        "pair": SimpleNamespace(community=areas.community, a=areas.grid, b=areas.sibling_grid),
        "changeset": 1,
        "to_commit": 1,
        "to_redo": 1,
        "empty": 1,
        "upload": '{"type": "FeatureCollection", "features": []}',
        "point": {"type": "Point", "coordinates": list(samples.point)},
        "case": {"id": int(samples.incident_ids[0]), "code": samples.incidents[0]},
        "order": {"id": 1},
        "notification": 1,
        "api_key": "gg_not-checked-while-down",
        "rating_token": str(uuid.uuid4()),
        "patrol": {"id": 1, "started_at": "2026-11-29T08:00:00+08:00"},
        "finding": {"id": 1},
        "field_building": 1,
        "dual_member": 1,
        "dual_unit": "DW62088100100101",
        "sign_in": {"username": "t_admin", "password": "whatever-it-is"},
        "org_meeting": {
            "branch_code": "DZ" + areas.grid,
            "kind": "theme_day",
            "held_on": "2026-01-05",
            "place": "党群服务中心",
            "topic": "志愿服务",
            "attendance": [{"member_id": 1, "status": "present"}],
        },
        "bowtie": {
            "type": "Polygon",
            "coordinates": [[[106.6, 35.2], [106.61, 35.21], [106.61, 35.2], [106.6, 35.21]]],
        },
        "party": {
            "member": 1,
            "away": 2,
            "branch": "DZ" + areas.grid,
            "other_branch": "DZ" + areas.sibling_grid,
            "newcomer": 1,
        },
        # Petitions, mediation and resident accounts (nothing is looked up: the database is down).
        "petition": {"id": 1},
        "dispute": {"id": 1},
        "mediating": {"id": 2},
        "household": "620881001001001" + "0001",
        "phone": "13800000000",
        # Serving residents: a well-formed link (checking it needs the database) and objects.
        "res_community": areas.community,
        "res_resident": 1,
        "res_credential": RESIDENT_LINK,
        "res_applicant": RESIDENT_LINK,
        "res_notice": 1,
        "res_reward": 1,
        "res_team": 1,
        "res_activity": {"id": 1, "checkin_code": "123456"},
        "res_activity_unsigned": 2,
        "res_application": 1,
    }
    with app_database(closed), TestClient(create_app(), raise_server_exceptions=False) as client:
        headers = {role: h for role, (_, h) in viewers.items()}
        headers["resident_self"] = headers["resident"]  # the resident's own account
        yield World(client, closed, headers, samples, objects)


def test_every_route_answers_503_in_its_format_while_the_database_is_down(
    outage_world: World,
) -> None:
    world = outage_world
    problems: list[str] = []
    unavailable_routes: set[str] = set()

    def check(label: str, call: Call) -> None:
        response = world.send(call)
        where = f"{call.role} {call.method} {call.path}"
        if response.status_code == 503:
            unavailable_routes.add(label)
            problems.extend(f"{where}: {p}" for p in unavailable_problems(response, call.path))
        elif response.status_code >= 500:
            problems.append(f"{where}: {response.status_code} {response.text[:150]}")
        elif (
            label not in SERVES_WITHOUT_DATABASE
            and call.role == "public"
            and response.status_code < 400
        ):
            # Refusing before any lookup is right (401 sign in first, 403 wrong role, 422 bad
            # input); a success is not, for a route that needs the database.
            problems.append(f"{where}: {response.status_code} without a database")

    for info in ROUTES:
        if info.method == "GET":
            calls, missing, _ = calls_for(info, world.samples)
            assert not missing, f"{info.label}: no sample for {missing}"
            paths = [calls[0].path]
            if "{token}" in info.path:  # a well-formed token, so that it is looked up
                paths.append(calls[0].path.replace("no-such-token", str(uuid.uuid4())))
            if info.path in RESIDENT_LINK_PAGES:  # a genuine link, so that it is looked up
                paths.append(info.path.replace("{credential}", RESIDENT_LINK))
            params = dict(calls[0].params)
            if STREAMING_PATH.search(info.path):
                params["timeout"] = "0.5"
            for path in paths:
                for role in ("public", "admin"):
                    check(info.label, Call(role, "GET", path, {"params": params}))
        else:
            key = (info.method, info.path)
            samples = WRITES.get(key) or NO_WRITE.get(key)
            assert samples is not None, f"{info.label}: no sample (test_commit_before_response)"
            for call in samples(world):
                check(info.label, call)
    assert not problems, f"{len(problems)} answers are wrong while the database is down:\n" + (
        "\n".join(problems[:40])
    )
    # Every route that needs the database said so to someone (a signed-in caller at least).
    silent = sorted({r.label for r in ROUTES} - SERVES_WITHOUT_DATABASE - unavailable_routes)
    assert not silent, f"these routes never answered 503 while the database was down: {silent}"
    assert world.client.get("/openapi.json").status_code == 200  # built from the code
    stale = SERVES_WITHOUT_DATABASE - {r.label for r in ROUTES}
    assert not stale, f"SERVES_WITHOUT_DATABASE lists routes the app no longer has: {stale}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    try:
        find_bindir()
    except Exception as exc:
        unavailable(f"PostgreSQL/PostGIS not installed: {exc}")
    cluster = EmbeddedCluster(Path(tmp_path_factory.mktemp("outage")) / "home")
    cluster.start()
    try:
        upgrade(cluster.url(role=OWNER_ROLE), app_role=APP_ROLE)
        yield cluster
    finally:
        cluster.destroy()


def test_the_app_reconnects_by_itself_after_a_restart(cluster: EmbeddedCluster) -> None:
    with app_database(cluster.url(role=APP_ROLE)), TestClient(create_app()) as client:
        # Warm the pool: these connections die with the server below.
        assert client.get("/api/v1/health").json()["database"] is True
        served = client.get("/api/v1/areas", params={"level": "district"})
        assert served.status_code == 200, served.text

        assert cluster.stop() is True
        probes = {
            "/api/v1/health": {},
            "/api/v1/areas": {},
            "/api/v1/locate": {"lon": "106.63", "lat": "35.22"},
            "/ogc/collections/grids/items": {},
            "/open311/v2/requests.json": {},
            "/open311/v2/requests.xml": {},
            "/": {},
        }
        for path, params in probes.items():
            response = client.get(path, params=params)
            assert not unavailable_problems(response, path), (path, response.text[:300])

        cluster.start()
        # No new app, no new engine: the pool notices its dead connections and reconnects.
        health = client.get("/api/v1/health")
        assert health.status_code == 200, health.text
        assert health.json()["database"] is True
        again = client.get("/api/v1/areas", params={"level": "district"})
        assert again.status_code == 200, again.text
        assert again.json() == served.json()
