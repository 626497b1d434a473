"""Acknowledged means stored: with every COMMIT forced to fail, no route acknowledges a write.

How it works (docs/architecture.md, "The API"):

1. A demo city of its own, set up for real (accounts, an API key, plan drafts, a committed
   changeset, a case, a service order) through the app itself, with real commits.
2. Then every table gets a ``DEFERRABLE INITIALLY DEFERRED`` constraint trigger that bumps a
   sequence (sequences survive a rollback) and raises: any transaction that wrote a row fails
   at COMMIT, exactly where a lost connection, a full disk or a serialization failure would.
3. Every route of the app (the same walk as the access matrix: API, OGC, Open311, pages, sign-in)
   is called over HTTP: state-changing routes with the samples in :data:`WRITES` — a new
   state-changing route without a sample fails :func:`test_every_state_changing_route_has_a_sample`
   — and GET routes with the access matrix's samples as the public and as an admin (whose reads
   of personal data are audited). If the probe moved, the request wrote, so it must have answered
   503 with Retry-After in its surface's format; and no table may have changed.

A handler or dependency that commits after the response is sent (FastAPI's default scope for
dependencies with yield) answers 2xx here and fails.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import SESSION_SCOPE
from gis.accounts import create_api_client
from gis.db import get_session
from gis.settings import normalise_database_url
from tests.api.residents_helpers import residents_objects
from tests.api.security_helpers import demo_areas, role_viewers
from tests.api.test_access_matrix import (
    STREAMING_PATH,
    RouteInfo,
    Samples,
    build_samples,
    calls_for,
    iter_routes,
)
from tests.api.unavailable_helpers import app_database, unavailable_problems
from tests.conftest import create_test_database, drop_test_database, owner_url
from tests.gis.media.photos import png

HOUSEHOLDS = 5_000
ROUTES = list(iter_routes(create_app()))
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

ARM = """
CREATE SEQUENCE commit_probe;
-- SECURITY DEFINER: the app role may not use the owner's sequence, the trigger's owner may.
CREATE FUNCTION commit_probe_fail() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM nextval('commit_probe');
    RAISE EXCEPTION 'commit forced to fail (row of %)', TG_TABLE_NAME;
END $$;
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.relname NOT IN ('spatial_ref_sys')
    LOOP
        EXECUTE format('CREATE CONSTRAINT TRIGGER zz_commit_probe AFTER INSERT OR UPDATE OR DELETE'
                       ' ON %s DEFERRABLE INITIALLY DEFERRED FOR EACH ROW'
                       ' EXECUTE FUNCTION commit_probe_fail()', t);
    END LOOP;
END $$;
"""


@dataclass
class Call:
    """One sample request: who sends it, and how."""

    role: str
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    client: TestClient
    url: str
    headers: dict[str, dict[str, str]]
    samples: Samples
    objects: dict[str, Any]

    def probe(self) -> int:
        with psycopg.connect(owner_url(self.url), autocommit=True) as conn:
            row = conn.execute("SELECT last_value, is_called FROM commit_probe").fetchone()
        assert row is not None
        return int(row[0]) if row[1] else 0

    def fingerprint(self) -> dict[str, int]:
        """Row count of every table (read as the owner, who may read them all)."""
        with psycopg.connect(owner_url(self.url), autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                    " AND NOT c.relispartition AND c.relname <> 'spatial_ref_sys'"
                )
            ]
            counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
            return {name: int(n) for name, n in conn.execute(counts)}

    @property
    def pair(self) -> Any:
        """Two neighbouring grids of one community (``community``, ``a``, ``b``)."""
        return self.objects["pair"]

    def draft(self, name: str, tail: str = "") -> str:
        return f"/api/v1/plan/drafts/{self.objects[name]}{tail}"

    def send(self, call: Call) -> Any:
        kwargs = dict(call.kwargs)
        headers = {**self.headers[call.role], **kwargs.pop("headers", {})}
        return self.client.request(call.method, call.path, headers=headers, **kwargs)


# --- set-up, committed for real -------------------------------------------------------------


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text[:500]
    return response.json() if "json" in response.headers.get("content-type", "") else None


def _set_up(client: TestClient, session: Session, headers: dict[str, dict[str, str]]) -> Any:
    """Objects for the write samples: drafts in each state, a changeset, a case, an order."""
    pair = session.execute(
        text(
            """
            SELECT c.code AS community, a.code AS a, b.code AS b FROM area a
            JOIN area b ON b.parent_id = a.parent_id AND a.code < b.code AND b.valid_to IS NULL
            JOIN area c ON c.id = a.parent_id
            WHERE a.level = 'grid' AND a.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM building bl WHERE bl.grid_id = a.id)
              AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography)
                  > 50
            ORDER BY a.code LIMIT 1
            """
        )
    ).one()
    # The buildings nearest the shared boundary: moving one keeps both grids in one piece.
    building = (
        session.execute(
            text(
                """
                SELECT bl.code FROM building bl JOIN area a ON a.id = bl.grid_id AND a.code = :a
                JOIN area b ON b.code = :b AND b.valid_to IS NULL WHERE bl.valid_to IS NULL
                ORDER BY ST_Distance(bl.geom,
                                     ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))
                LIMIT 2
                """
            ),
            {"a": pair.a, "b": pair.b},
        )
        .scalars()
        .all()
    )
    planner = headers["planner"]
    drafts = "/api/v1/plan/drafts"

    def new_draft() -> int:
        response = client.post(drafts, json={"scope_code": pair.community}, headers=planner)
        return int(_ok(response, 201)["id"])

    def transfer(draft: int, code: str) -> None:
        body = {"kind": "transfer", "building_codes": [code], "to": pair.b}
        _ok(client.post(f"{drafts}/{draft}/operations", json=body, headers=planner))

    # A committed changeset (for revert), then open drafts on the new boundaries.
    committed = new_draft()
    transfer(committed, building[0])
    _ok(client.post(f"{drafts}/{committed}/commit", json={"reason": "准备"}, headers=planner))
    to_commit = new_draft()
    transfer(to_commit, building[1])
    to_redo = new_draft()
    transfer(to_redo, building[1])
    _ok(client.post(f"{drafts}/{to_redo}/undo", headers=planner))
    empty = new_draft()
    grids = session.execute(
        text(
            "SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg("
            " json_build_object('type', 'Feature',"
            " 'properties', json_build_object('code', g.code),"
            " 'geometry', ST_AsGeoJSON(g.geom)::json)))"
            " FROM area g JOIN area c ON c.id = g.parent_id"
            " WHERE c.code = :c AND g.valid_to IS NULL"
        ),
        {"c": pair.community},
    ).scalar_one()
    point = {"type": "Point", "coordinates": [0.0, 0.0]}
    lon, lat = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area"
            " WHERE code = :g AND valid_to IS NULL) x"
        ),
        {"g": pair.a},
    ).one()
    point["coordinates"] = [lon, lat]
    case = _ok(
        client.post(
            "/api/v1/incidents",
            json={"category": "市容环境", "description": "路灯损坏", "geometry": point},
            headers=headers["grid_worker"],
        ),
        201,
    )["incident"]
    # A closed case its reporter can rate (with his Open311 token).
    to_rate = _ok(
        client.post(
            "/api/v1/incidents",
            json={"category": "市容环境", "description": "垃圾清运", "geometry": point},
            headers=headers["grid_worker"],
        ),
        201,
    )["incident"]
    rating_token = session.execute(
        text(
            "UPDATE incident SET status = 'closed', closed_at = now() WHERE id = :i"
            " RETURNING token::text"
        ),
        {"i": to_rate["id"]},
    ).scalar_one()
    # Overdue, so that running escalation has something to write.
    session.execute(
        text("UPDATE incident SET due_at = now() - interval '2 days' WHERE id = :i"),
        {"i": case["id"]},
    )
    # A notification of the case for the grid worker, to mark read.
    notification = session.execute(
        text(
            "INSERT INTO notification (recipient_id, incident_id, event_id, trigger, data) "
            "SELECT u.id, e.incident_id, e.id, 'dispatch', '{}' FROM incident_event e, app_user u"
            " WHERE e.incident_id = :i AND u.username = 't_grid_worker' LIMIT 1 RETURNING id"
        ),
        {"i": case["id"]},
    ).scalar_one()
    community = session.execute(
        text("SELECT code FROM area WHERE code = :c"), {"c": pair.community}
    ).scalar_one()
    order = _ok(
        client.post(
            "/api/v1/service-orders",
            json={
                "service_type": "维修",
                "description": "水管漏水",
                "requester_name": "王阿姨",
                "community_code": community,
            },
            headers=headers["admin"],
        ),
        201,
    )
    _, api_key = create_api_client(session, "commit-probe-app")
    # The party instructor's account becomes a branch's secretary: only he records its 三会一课.
    branch = session.execute(
        text(
            "SELECT o.code, o.secretary_id, (SELECT array_agg(m.id ORDER BY m.id)"
            " FROM party_member m WHERE m.org_id = o.id) AS members FROM party_org o"
            " WHERE o.org_type = '党支部' AND o.secretary_id IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM party_member m WHERE m.org_id = o.id)"
            " ORDER BY o.code LIMIT 1"
        )
    ).one()
    session.execute(
        text("UPDATE app_user SET person_id = :p WHERE username = 't_party_instructor'"),
        {"p": branch.secretary_id},
    )
    # An open patrol of the grid worker with one finding, and a building of his grid.
    worker = headers["grid_worker"]
    patrol = _ok(client.post("/api/v1/field/patrols", json={}, headers=worker), 201)
    finding = _ok(
        client.post(
            f"/api/v1/field/patrols/{patrol['id']}/findings",
            json={"description": "井盖缺失", "lon": lon, "lat": lat},
            headers=worker,
        ),
        201,
    )
    field_building = session.execute(
        text(
            "SELECT b.id FROM building b JOIN area g ON g.id = b.grid_id"
            " JOIN app_user u ON u.scope_code = g.code AND u.role = 'grid_worker'"
            " WHERE b.valid_to IS NULL ORDER BY b.id LIMIT 1"
        )
    ).scalar_one()
    # The member register: two members of the community secretary's area (one away from
    # home), another 支部 to transfer to, a course he has not done, a resident not a member.
    party = session.execute(
        text(
            "SELECT m.id, o.code AS branch FROM party_member m JOIN party_org o ON o.id = m.org_id"
            " JOIN area a ON a.id = o.area_id JOIN app_user u"
            " ON u.username = 't_community_secretary' AND a.code LIKE u.scope_code || '%'"
            " WHERE NOT EXISTS (SELECT 1 FROM party_member_away w WHERE w.member_id = m.id"
            " AND w.until IS NULL) ORDER BY m.id LIMIT 2"
        )
    ).all()
    session.execute(
        text(
            "INSERT INTO party_member_away (member_id, since, place, reason, recorded_by)"
            " VALUES (:m, current_date - 30, '广东省深圳市', 'work', 'probe')"
        ),
        {"m": party[1].id},
    )
    session.execute(
        text(
            "INSERT INTO party_course (code, title, category, hours, published_on)"
            " VALUES ('PROBE-1', '探针课程', 'policy', 2, current_date - 30)"
        )
    )
    other_branch = session.execute(
        text("SELECT code FROM party_org WHERE org_type = '党支部' AND code <> :b ORDER BY code"),
        {"b": party[0].branch},
    ).first()
    newcomer = session.execute(
        text(
            "SELECT r.id FROM resident r JOIN household h ON h.id = r.household_id"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " JOIN app_user u ON u.username = 't_community_secretary'"
            " AND g.code LIKE u.scope_code || '%' WHERE r.birth_year < 1990"
            " AND NOT EXISTS (SELECT 1 FROM party_member m WHERE m.resident_id = r.id)"
            " ORDER BY r.id LIMIT 1"
        )
    ).scalar_one()
    session.commit()
    residents = residents_objects(client, session, headers, demo_areas(session).community)
    return {
        **residents,
        "party": {
            "member": party[0].id,
            "away": party[1].id,
            "branch": party[0].branch,
            "other_branch": other_branch[0],
            "newcomer": newcomer,
        },
        "pair": pair,
        "changeset": committed,
        "to_commit": to_commit,
        "to_redo": to_redo,
        "empty": empty,
        "upload": json.dumps(grids),
        "point": point,
        "case": case,
        "notification": notification,
        "order": order,
        "api_key": api_key,
        "rating_token": rating_token,
        "org_meeting": {
            "branch_code": branch.code,
            "kind": "theme_day",
            "held_on": (datetime.date.today() - datetime.timedelta(days=2)).isoformat(),
            "place": "党群服务中心",
            "topic": "志愿服务",
            "attendance": [{"member_id": m, "status": "present"} for m in branch.members],
        },
        "patrol": patrol,
        "finding": finding,
        "field_building": field_building,
        # 双报到: an in-service member and a unit with a party organisation to register.
        "dual_member": session.execute(
            text("SELECT id FROM party_member WHERE in_service ORDER BY id LIMIT 1")
        ).scalar_one(),
        "dual_unit": session.execute(
            text(
                "SELECT code FROM regional_unit WHERE party_org_name IS NOT NULL"
                " ORDER BY code LIMIT 1"
            )
        ).scalar_one(),
    }


def _resident_cases(
    client: TestClient, session: Session, headers: dict[str, dict[str, str]], areas: Any
) -> dict[str, Any]:
    """A petition and two disputes (one being mediated), a household and a phone with a live
    registration code: what the petition, mediation and resident-account samples act on."""
    petition = _ok(
        client.post(
            "/api/v1/petitions",
            json={
                "petition_type": "request",
                "subject": "公共设施",
                "title": "路灯不亮",
                "description": "小区东门路灯不亮",
            },
            headers=headers["resident"],
        ),
        201,
    )
    parties = [{"side": "applicant", "name": "赵一"}, {"side": "respondent", "name": "钱二"}]
    body = {
        "dispute_type": "邻里纠纷",
        "summary": "噪音",
        "grid_code": areas.grid,
        "parties": parties,
    }
    dispute = _ok(client.post("/api/v1/disputes", json=body, headers=headers["admin"]), 201)
    mediating = _ok(client.post("/api/v1/disputes", json=body, headers=headers["admin"]), 201)
    _ok(
        client.post(
            f"/api/v1/disputes/{mediating['id']}/transitions",
            json={"action": "start"},
            headers=headers["admin"],
        ),
        200,
    )
    household, phone = session.execute(
        text(
            "SELECT h.code, r.phone FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id JOIN resident r ON r.household_id = h.id"
            " WHERE g.code = :g AND r.phone IS NOT NULL ORDER BY h.code, r.id LIMIT 1"
        ),
        {"g": areas.grid},
    ).one()
    _ok(client.post("/api/v1/resident-accounts/register/code", json={"phone": phone}), 202)
    session.execute(text("UPDATE phone_verification SET created_at = now() - interval '1 hour'"))
    session.commit()
    return {
        "petition": petition,
        "dispute": dispute,
        "mediating": mediating,
        "household": household,
        "phone": phone,
    }


# Samples of every state-changing route: what a real client would send, as a role allowed to.
# Each must reach its write (the probe moves) and be answered 503, since the write is not stored.
WRITES: dict[tuple[str, str], Callable[[World], list[Call]]] = {
    ("POST", "/api/v1/auth/token"): lambda w: [
        Call("public", "POST", "/api/v1/auth/token", {"data": w.objects["sign_in"]})
    ],
    ("POST", "/login"): lambda w: [
        Call("public", "POST", "/login", {"data": w.objects["sign_in"], "follow_redirects": False})
    ],
    # Ending a session and changing a password revoke sessions: acknowledged means stored.
    ("POST", "/api/v1/auth/logout"): lambda w: [
        Call("party_member", "POST", "/api/v1/auth/logout", {})
    ],
    ("POST", "/api/v1/auth/password"): lambda w: [
        Call(
            "district_secretary",
            "POST",
            "/api/v1/auth/password",
            {
                "json": {
                    "current_password": w.objects["sign_in"]["password"],
                    "new_password": "granite-willow-harbour-19",
                }
            },
        )
    ],
    ("POST", "/api/v1/incidents"): lambda w: [
        Call(
            role,
            "POST",
            "/api/v1/incidents",
            {
                "json": {
                    "category": "市容环境",
                    "description": "井盖缺失",
                    "geometry": w.objects["point"],
                },
                # The public reports through an API client (api/submitters.py).
                "headers": {"Idempotency-Key": f"probe-{role}"}
                | ({"X-API-Key": w.objects["api_key"]} if role == "public" else {}),
            },
        )
        for role in ("public", "grid_worker")
    ],
    ("POST", "/api/v1/ratings/{credential}"): lambda w: [
        Call(
            "public",
            "POST",
            f"/api/v1/ratings/{w.objects['rating_token']}",
            {"json": {"rating": 5, "comment": "满意"}},
        )
    ],
    ("POST", "/rate/{credential}"): lambda w: [
        Call(
            "public",
            "POST",
            f"/rate/{w.objects['rating_token']}",
            {"data": {"rating": "5"}, "follow_redirects": False},
        )
    ],
    ("POST", "/api/v1/incidents/{incident_id}/transitions"): lambda w: [
        Call(
            "command_operator",
            "POST",
            f"/api/v1/incidents/{w.objects['case']['id']}/transitions",
            {"json": {"to": "accepted", "note": "受理"}},
        )
    ],
    ("POST", "/api/v1/incidents/escalations"): lambda w: [
        Call("command_operator", "POST", "/api/v1/incidents/escalations")
    ],
    ("POST", "/open311/v2/requests.{fmt}"): lambda w: [
        Call(
            "public",
            "POST",
            f"/open311/v2/requests.{fmt}",
            {
                "data": {
                    "api_key": w.objects["api_key"],
                    "service_code": "E01",
                    "lat": str(w.objects["point"]["coordinates"][1]),
                    "long": str(w.objects["point"]["coordinates"][0]),
                    "description": "垃圾堆积",
                }
            },
        )
        for fmt in ("json", "xml")
    ],
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): lambda w: [
        Call(
            "public",
            "POST",
            f"/open311/v2/servicerequestupdates.{fmt}",
            {
                "data": {
                    "api_key": w.objects["api_key"],
                    "service_request_id": w.objects["case"]["code"],
                    "description": "还没有处理",
                }
            },
        )
        for fmt in ("json", "xml")
    ],
    ("POST", "/api/v1/plan/drafts"): lambda w: [
        Call("planner", "POST", "/api/v1/plan/drafts", {"json": {"scope_code": w.pair.community}})
    ],
    ("PATCH", "/api/v1/plan/drafts/{changeset_id}"): lambda w: [
        Call("planner", "PATCH", w.draft("to_commit"), {"json": {"title": "新标题"}})
    ],
    ("DELETE", "/api/v1/plan/drafts/{changeset_id}"): lambda w: [
        Call("planner", "DELETE", w.draft("empty"))
    ],
    ("POST", "/api/v1/plan/drafts/{changeset_id}/operations"): lambda w: [
        Call(
            "planner",
            "POST",
            w.draft("empty", "/operations"),
            {"json": {"kind": "merge", "codes": [w.pair.a, w.pair.b]}},
        )
    ],
    ("POST", "/api/v1/plan/drafts/{changeset_id}/upload"): lambda w: [
        Call(
            "planner",
            "POST",
            w.draft("empty", "/upload"),
            {
                "params": {"community": w.pair.community},
                "files": {"file": ("grids.geojson", w.objects["upload"], "application/geo+json")},
            },
        )
    ],
    ("POST", "/api/v1/plan/drafts/{changeset_id}/undo"): lambda w: [
        Call("planner", "POST", w.draft("to_commit", "/undo"))
    ],
    ("POST", "/api/v1/plan/drafts/{changeset_id}/redo"): lambda w: [
        Call("planner", "POST", w.draft("to_redo", "/redo"))
    ],
    ("POST", "/api/v1/plan/drafts/{changeset_id}/commit"): lambda w: [
        Call("planner", "POST", w.draft("to_commit", "/commit"), {"json": {"reason": "楼栋划转"}})
    ],
    ("POST", "/api/v1/plan/changesets/{changeset_id}/revert"): lambda w: [
        Call("planner", "POST", f"/api/v1/plan/changesets/{w.objects['changeset']}/revert")
    ],
    ("POST", "/api/v1/service-orders"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/service-orders",
            {
                "json": {
                    "service_type": "代办",
                    "description": "代办证件",
                    "requester_name": "张大爷",
                    "community_code": w.pair.community,
                }
            },
        )
    ],
    ("POST", "/api/v1/service-orders/{order_id}/transitions"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/service-orders/{w.objects['order']['id']}/transitions",
            {"json": {"to": "published"}},
        )
    ],
    ("POST", "/api/v1/org-life/meetings"): lambda w: [
        Call(
            "party_instructor",
            "POST",
            "/api/v1/org-life/meetings",
            {"json": w.objects["org_meeting"], "headers": {"Idempotency-Key": "probe-meeting"}},
        )
    ],
    # A photo upload stores a file (content-addressed, harmless if orphaned) and a media row.
    ("POST", "/api/v1/media"): lambda w: [
        Call(
            "grid_worker",
            "POST",
            "/api/v1/media",
            {"files": {"file": ("p.png", png(), "image/png")}},
        )
    ],
    ("POST", "/api/v1/notifications/{notification_id}/read"): lambda w: [
        Call("grid_worker", "POST", f"/api/v1/notifications/{w.objects['notification']}/read")
    ],
    ("POST", "/api/v1/notifications/read-all"): lambda w: [
        Call("grid_worker", "POST", "/api/v1/notifications/read-all")
    ],
    ("PUT", "/api/v1/admin/calendar/days/{day}"): lambda w: [
        Call("admin", "PUT", "/api/v1/admin/calendar/days/2027-10-01", {"json": {"name": "国庆节"}})
    ],
    # A shipped day (migration 0020 loads the State Council schedules).
    ("DELETE", "/api/v1/admin/calendar/days/{day}"): lambda w: [
        Call("admin", "DELETE", "/api/v1/admin/calendar/days/2025-01-01")
    ],
    ("POST", "/api/v1/admin/calendar/import"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/admin/calendar/import",
            {"json": {"csv": "day,name,is_workday\n2027-01-01,元旦,false\n"}},
        )
    ],
}

WRITES |= {
    ("POST", "/api/v1/field/patrols"): lambda w: [
        Call("grid_chief", "POST", "/api/v1/field/patrols", {"json": {}})
    ],
    ("POST", "/api/v1/field/patrols/{patrol_id}/points"): lambda w: [
        Call(
            "grid_worker",
            "POST",
            f"/api/v1/field/patrols/{w.objects['patrol']['id']}/points",
            {
                "json": {
                    "points": [
                        {
                            "id": "probe-1",
                            "lon": w.objects["point"]["coordinates"][0],
                            "lat": w.objects["point"]["coordinates"][1],
                            "at": w.objects["patrol"]["started_at"],
                            "accuracy_m": 5,
                        }
                    ]
                }
            },
        )
    ],
    ("POST", "/api/v1/field/patrols/{patrol_id}/findings"): lambda w: [
        Call(
            "grid_worker",
            "POST",
            f"/api/v1/field/patrols/{w.objects['patrol']['id']}/findings",
            {
                "json": {
                    "description": "占道经营",
                    "lon": w.objects["point"]["coordinates"][0],
                    "lat": w.objects["point"]["coordinates"][1],
                }
            },
        )
    ],
    ("POST", "/api/v1/field/findings/{finding_id}/case"): lambda w: [
        Call(
            "grid_worker",
            "POST",
            f"/api/v1/field/findings/{w.objects['finding']['id']}/case",
            {"json": {"category": "市容环境"}},
        )
    ],
    ("POST", "/api/v1/field/patrols/{patrol_id}/end"): lambda w: [
        Call("grid_worker", "POST", f"/api/v1/field/patrols/{w.objects['patrol']['id']}/end")
    ],
    ("POST", "/api/v1/field/visits"): lambda w: [
        Call(
            "grid_worker",
            "POST",
            "/api/v1/field/visits",
            {"json": {"building_id": w.objects["field_building"], "purpose": "日常走访"}},
        )
    ],
}
# Serving residents (tests/api/residents_helpers.py sets up the objects).
_LINK = "/api/v1/resident-link/{}"
WRITES |= {
    ("POST", "/api/v1/notices"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            "/api/v1/notices",
            {"json": {"title": "探针", "body": "内容", "area_code": w.objects["res_community"]}},
        )
    ],
    ("POST", "/api/v1/notices/{notice_id}/withdraw"): lambda w: [
        Call("community_secretary", "POST", f"/api/v1/notices/{w.objects['res_notice']}/withdraw")
    ],
    ("POST", "/api/v1/service-applications/{application_id}/transitions"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            f"/api/v1/service-applications/{w.objects['res_application']}/transitions",
            {"json": {"action": "accept"}},
        )
    ],
    ("POST", "/api/v1/residents/{resident_id}/link"): lambda w: [
        Call("community_secretary", "POST", f"/api/v1/residents/{w.objects['res_resident']}/link")
    ],
    ("POST", "/api/v1/volunteer/teams"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            "/api/v1/volunteer/teams",
            {"json": {"community_code": w.objects["res_community"], "name": "探针队"}},
        )
    ],
    ("POST", "/api/v1/volunteer/activities"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            "/api/v1/volunteer/activities",
            {
                "json": {
                    "team_id": w.objects["res_team"],
                    "title": "探针",
                    "place": "广场",
                    "starts_at": "2030-01-01T09:00:00+08:00",
                    "ends_at": "2030-01-01T11:00:00+08:00",
                    "capacity": 5,
                    "hours": "2.0",
                }
            },
        )
    ],
    ("POST", "/api/v1/volunteer/activities/{activity_id}/complete"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            f"/api/v1/volunteer/activities/{w.objects['res_activity']['id']}/complete",
        )
    ],
    ("POST", "/api/v1/points/rewards"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            "/api/v1/points/rewards",
            {"json": {"community_code": w.objects["res_community"], "name": "探针", "points": 5}},
        )
    ],
    ("POST", "/api/v1/resident-link/{credential}/notices/{notice_id}/read"): lambda w: [
        Call(
            "public",
            "POST",
            _LINK.format(w.objects["res_credential"]) + f"/notices/{w.objects['res_notice']}/read",
        )
    ],
    ("POST", "/api/v1/resident-link/{credential}/applications"): lambda w: [
        Call(
            "public",
            "POST",
            _LINK.format(w.objects["res_applicant"]) + "/applications",
            {"json": {"service_code": "senior_card"}},
        )
    ],
    ("POST", "/api/v1/resident-link/{credential}/activities/{activity_id}/signup"): lambda w: [
        Call(
            "public",
            "POST",
            _LINK.format(w.objects["res_applicant"])
            + f"/activities/{w.objects['res_activity']['id']}/signup",
        )
    ],
    ("POST", "/api/v1/resident-link/{credential}/activities/{activity_id}/checkin"): lambda w: [
        Call(
            "public",
            "POST",
            _LINK.format(w.objects["res_credential"])
            + f"/activities/{w.objects['res_activity']['id']}/checkin",
            {"json": {"code": w.objects["res_activity"]["checkin_code"]}},
        )
    ],
    ("POST", "/api/v1/resident-link/{credential}/redemptions"): lambda w: [
        Call(
            "public",
            "POST",
            _LINK.format(w.objects["res_credential"]) + "/redemptions",
            {"json": {"reward_id": w.objects["res_reward"]}},
        )
    ],
    # The resident's own account (/api/v1/resident-self) does the same as his link.
    ("POST", "/api/v1/resident-self/notices/{notice_id}/read"): lambda w: [
        Call(
            "resident_self", "POST", f"/api/v1/resident-self/notices/{w.objects['res_notice']}/read"
        )
    ],
    ("POST", "/api/v1/resident-self/applications"): lambda w: [
        Call(
            "resident_self",
            "POST",
            "/api/v1/resident-self/applications",
            {"json": {"service_code": "senior_card"}},
        )
    ],
    ("POST", "/api/v1/resident-self/activities/{activity_id}/signup"): lambda w: [
        Call(
            "resident_self",
            "POST",
            f"/api/v1/resident-self/activities/{w.objects['res_activity_unsigned']}/signup",
        )
    ],
    ("POST", "/api/v1/resident-self/activities/{activity_id}/checkin"): lambda w: [
        Call(
            "resident_self",
            "POST",
            f"/api/v1/resident-self/activities/{w.objects['res_activity']['id']}/checkin",
            {"json": {"code": w.objects["res_activity"]["checkin_code"]}},
        )
    ],
    ("POST", "/api/v1/resident-self/redemptions"): lambda w: [
        Call(
            "resident_self",
            "POST",
            "/api/v1/resident-self/redemptions",
            {"json": {"reward_id": w.objects["res_reward"]}},
        )
    ],
}
WRITES |= {
    ("POST", "/api/v1/petitions"): lambda w: [
        Call(
            "resident",
            "POST",
            "/api/v1/petitions",
            {
                "json": {
                    "petition_type": "complaint",
                    "subject": "环境卫生",
                    "title": "垃圾未清运",
                    "description": "三天没有清运",
                }
            },
        )
    ],
    ("POST", "/api/v1/petitions/{petition_id}/transitions"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/petitions/{w.objects['petition']['id']}/transitions",
            {"json": {"action": "assign", "assigned_to": "社区居委会"}},
        )
    ],
    ("POST", "/api/v1/disputes"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/disputes",
            {
                "json": {
                    "dispute_type": "物业纠纷",
                    "summary": "停车位",
                    "grid_code": w.samples.areas.grid,
                    "parties": [
                        {"side": "applicant", "name": "孙三"},
                        {"side": "respondent", "name": "李四"},
                    ],
                }
            },
        )
    ],
    ("POST", "/api/v1/disputes/{dispute_id}/transitions"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/disputes/{w.objects['dispute']['id']}/transitions",
            {"json": {"action": "start"}},
        )
    ],
    ("POST", "/api/v1/disputes/{dispute_id}/sessions"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/disputes/{w.objects['mediating']['id']}/sessions",
            {
                "json": {
                    "held_at": datetime.datetime.now(datetime.UTC).isoformat(),
                    "outcome": "continued",
                    "mediator": "调解员",
                }
            },
        )
    ],
    ("POST", "/api/v1/resident-accounts"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/resident-accounts",
            {
                "json": {
                    "username": "probe_resident",
                    "password": "correct-horse-battery-staple",
                    "household_code": w.objects["household"],
                }
            },
        )
    ],
    ("POST", "/api/v1/resident-accounts/register/code"): lambda w: [
        Call(
            "public",
            "POST",
            "/api/v1/resident-accounts/register/code",
            {"json": {"phone": w.objects["phone"]}},
        )
    ],
    # A wrong code is counted (the count must stick, so the answer waits for its commit).
    ("POST", "/api/v1/resident-accounts/register"): lambda w: [
        Call(
            "public",
            "POST",
            "/api/v1/resident-accounts/register",
            {
                "json": {
                    "phone": w.objects["phone"],
                    "code": "000000",
                    "username": "probe_self",
                    "password": "correct-horse-battery-staple",
                }
            },
        )
    ],
}
_YESTERDAY = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()


def _member_path(w: World, tail: str, which: str = "member") -> str:
    return f"/api/v1/party/members/{w.objects['party'][which]}{tail}"


WRITES |= {
    ("POST", "/api/v1/party/members/{member_id}/transfers"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            _member_path(w, "/transfers"),
            {
                "json": {
                    "direction": "within",
                    "to_branch_code": w.objects["party"]["other_branch"],
                    "reason": "moved",
                    "transferred_on": _YESTERDAY,
                }
            },
        )
    ],
    ("POST", "/api/v1/party/transfers-in"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            "/api/v1/party/transfers-in",
            {
                "json": {
                    "resident_id": w.objects["party"]["newcomer"],
                    "branch_code": w.objects["party"]["branch"],
                    "from_org_name": "兰州大学学生党委",
                    "reason": "study",
                    "transferred_on": _YESTERDAY,
                    "joined_on": "2010-06-01",
                    "status": "正式党员",
                }
            },
        )
    ],
    ("POST", "/api/v1/party/members/{member_id}/away"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            _member_path(w, "/away"),
            {"json": {"since": _YESTERDAY, "place": "江苏省苏州市", "reason": "work"}},
        )
    ],
    ("POST", "/api/v1/party/members/{member_id}/away/return"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            _member_path(w, "/away/return", "away"),
            {"json": {"until": _YESTERDAY}},
        )
    ],
    ("PUT", "/api/v1/party/members/{member_id}/care-flags"): lambda w: [
        Call(
            "community_secretary",
            "PUT",
            _member_path(w, "/care-flags"),
            {"json": {"flags": ["hardship"]}},
        )
    ],
    ("POST", "/api/v1/party/members/{member_id}/care"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            _member_path(w, "/care"),
            {"json": {"kind": "visit", "cared_on": _YESTERDAY, "note": "入户走访"}},
        )
    ],
    ("POST", "/api/v1/party/members/{member_id}/learning"): lambda w: [
        Call(
            "community_secretary",
            "POST",
            _member_path(w, "/learning"),
            {"json": {"course_code": "PROBE-1", "finished_on": _YESTERDAY}},
        )
    ],
}


WRITES |= {
    ("POST", "/api/v1/dual-report/needs"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/dual-report/needs",
            {
                "json": {
                    "community_code": w.pair.community,
                    "origin": "post",
                    "title": "文明劝导岗",
                    "service_type": "其他",
                    "description": "周末文明劝导",
                }
            },
        )
    ],
    ("POST", "/api/v1/dual-report/members/{member_id}/registration"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/dual-report/members/{w.objects['dual_member']}/registration",
            {"json": {"community_code": w.pair.community, "registered_on": _YESTERDAY}},
        )
    ],
    ("POST", "/api/v1/dual-report/units/{code}/registration"): lambda w: [
        Call(
            "admin",
            "POST",
            f"/api/v1/dual-report/units/{w.objects['dual_unit']}/registration",
            {"json": {"community_code": w.pair.community, "registered_on": _YESTERDAY}},
        )
    ],
    ("POST", "/api/v1/regional/agreements"): lambda w: [
        Call(
            "admin",
            "POST",
            "/api/v1/regional/agreements",
            {
                "json": {
                    "unit_code": w.objects["dual_unit"],
                    "community_code": w.pair.community,
                    "signed_on": _YESTERDAY,
                    "starts_on": _YESTERDAY,
                    "ends_on": "2099-12-31",
                    "content": "共建",
                    "resources": [{"category": "场地", "description": "活动室"}],
                }
            },
        )
    ],
}

# State-changing by method but not by nature: they must write nothing (the probe stays put).
NO_WRITE: dict[tuple[str, str], Callable[[World], list[Call]]] = {
    # Signing out only clears the cookie.
    ("POST", "/logout"): lambda w: [Call("public", "POST", "/logout", {"follow_redirects": False})],
    # A preview: computes a repaired geometry, stores nothing.
    ("POST", "/api/v1/plan/repair-preview"): lambda w: [
        Call(
            "planner",
            "POST",
            "/api/v1/plan/repair-preview",
            {"json": {"geometry": w.objects["bowtie"]}},
        )
    ],
}


@pytest.fixture(scope="module")
def world(server_url: str) -> Iterator[World]:
    from data.demo import load_demo

    url = create_test_database(server_url, "commitfail")
    try:
        with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
            load_demo(conn, households=HOUSEHOLDS)
            conn.commit()
        engine = create_engine(normalise_database_url(url))
        with app_database(url), Session(engine) as session:
            areas = demo_areas(session)
            viewers = role_viewers(session, areas)
            session.commit()
            headers = {role: h for role, (_, h) in viewers.items()}
            app = create_app()
            with TestClient(app, raise_server_exceptions=False) as client:
                objects = _set_up(client, session, headers)
                objects |= _resident_cases(client, session, headers, demo_areas(session))
                objects["sign_in"] = {"username": "t_admin", "password": "correct-horse-battery"}
                objects["bowtie"] = {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [106.6, 35.2],
                            [106.61, 35.21],
                            [106.61, 35.2],
                            [106.6, 35.21],
                            [106.6, 35.2],
                        ]
                    ],
                }
                samples = build_samples(session, areas)
                session.commit()
                with psycopg.connect(owner_url(url), autocommit=True) as conn:
                    conn.execute(ARM)
                yield World(client, url, headers, samples, objects)
        engine.dispose()
    finally:
        drop_test_database(server_url, url)


def test_every_route_takes_its_session_in_function_scope() -> None:
    """The mechanism itself: a session dependency in request scope would commit after sending."""

    def late(dependant: Any) -> list[str]:
        found = []
        for sub in getattr(dependant, "dependencies", []):
            if sub.call is get_session and sub.scope != SESSION_SCOPE:
                found.append(getattr(dependant.call, "__name__", "?"))
            found += late(sub)
        return found

    offenders = {
        r.label: late(r.route.dependant) for r in ROUTES if getattr(r.route, "dependant", None)
    }
    assert not {k: v for k, v in offenders.items() if v}, (
        "take the session as api.deps.SessionDep / web.mapkit.SessionDep (scope='function')"
    )


def test_every_state_changing_route_has_a_sample() -> None:
    unsafe = {(r.method, r.path) for r in ROUTES if r.method in UNSAFE}
    missing = sorted(f"{m} {p}" for m, p in unsafe - set(WRITES) - set(NO_WRITE))
    assert not missing, (
        "no sample request for these state-changing routes; add one to WRITES (or, if it "
        "stores nothing, NO_WRITE) in tests/api/test_commit_before_response.py: "
        + ", ".join(missing)
    )
    stale = sorted(f"{m} {p}" for m, p in {*WRITES, *NO_WRITE} - unsafe)
    assert not stale, "samples for routes the app no longer has: " + ", ".join(stale)


@pytest.mark.parametrize("key", sorted(WRITES), ids=[f"{m} {p}" for m, p in sorted(WRITES)])
def test_a_write_whose_commit_fails_is_not_acknowledged(world: World, key: tuple[str, str]) -> None:
    before = world.fingerprint()
    for call in WRITES[key](world):
        probe = world.probe()
        response = world.send(call)
        assert world.probe() > probe, (
            f"{call.method} {call.path} as {call.role} wrote nothing ({response.status_code} "
            f"{response.text[:300]}); the sample must reach the route's write"
        )
        problems = unavailable_problems(response, call.path)
        assert not problems, f"{call.method} {call.path} as {call.role}: {problems}"
        assert "Location" not in response.headers
    assert world.fingerprint() == before


@pytest.mark.parametrize("key", sorted(NO_WRITE), ids=[f"{m} {p}" for m, p in sorted(NO_WRITE)])
def test_routes_that_store_nothing_still_answer(world: World, key: tuple[str, str]) -> None:
    for call in NO_WRITE[key](world):
        probe = world.probe()
        response = world.send(call)
        assert response.status_code < 400, response.text[:300]
        assert world.probe() == probe, f"{call.method} {call.path} wrote; move it to WRITES"


GET_ROUTES = [r for r in ROUTES if r.method == "GET" and hasattr(r.route, "dependant")]


@pytest.mark.parametrize("info", GET_ROUTES, ids=[r.label for r in GET_ROUTES])
def test_a_read_whose_audit_row_cannot_commit_is_not_served(world: World, info: RouteInfo) -> None:
    calls, missing, _ = calls_for(info, world.samples)
    assert not missing, f"{info.label}: no sample for {missing} (tests/api/test_access_matrix.py)"
    if STREAMING_PATH.search(info.path):
        calls = [c for c in calls if not c.params]  # the stream ends after `timeout` seconds
        for c in calls:
            c.params["timeout"] = "0.5"
    before = world.fingerprint()
    answered = refused = 0
    for role in ("public", "admin"):
        for c in calls:
            probe = world.probe()
            response = world.client.get(c.path, params=c.params, headers=world.headers[role])
            where = f"{role} GET {c.path} {c.params}"
            if world.probe() > probe:
                problems = unavailable_problems(response, c.path)
                assert not problems, f"{where} wrote (an audit row?) but answered: {problems}"
                refused += 1
            else:
                assert response.status_code < 500, f"{where}: {response.status_code}"
                answered += 1
    assert world.fingerprint() == before
    assert calls and answered + refused == 2 * len(calls), info.label


def test_audited_reads_are_among_the_probed(world: World) -> None:
    """Not vacuous: an admin reading a household unmasked writes an audit row, so is refused."""
    code = world.samples.households[0]
    probe = world.probe()
    response = world.client.get(
        f"/api/v1/households/{code}",
        params={"purpose": "走访"},
        headers=world.headers["admin"],
    )
    assert world.probe() > probe
    assert not unavailable_problems(response, "/api/v1/households/x")


def test_no_request_leaves_a_transaction_open(world: World) -> None:
    """After the walk every connection of the app is back in its pool with no transaction open:
    a connection left idle in transaction holds its row locks (field work once hung here on one)."""
    with psycopg.connect(owner_url(world.url), autocommit=True) as conn:
        left = conn.execute(
            "SELECT pid, usename, left(query, 200) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%'"
        ).fetchall()
    assert not left, f"connections idle in transaction after the walk: {left}"
