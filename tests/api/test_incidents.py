"""The incident API: intake and routing, duplicates, idempotency, the case loop, scope, filters."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.accounts import create_api_client, revoke_api_client
from gis.errors import Conflict, Forbidden
from gis.incidents import deadlines, escalation, intake, transitions
from gis.incidents.workflow import IllegalTransition
from gis.masking import mask_name, mask_phone
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, reporting_app, viewer

__all__ = ["client_for"]


def _disclosures(session: Session, username: str) -> list[tuple[str, str | None]]:
    return [
        (r.target, r.purpose)
        for r in session.execute(
            text(
                "SELECT target, purpose FROM audit_log WHERE username = :u"
                " AND action = 'read.unmasked' ORDER BY id"
            ),
            {"u": username},
        )
    ]


def _report(lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    return {
        "category": "市容环境",
        "description": "道路积存垃圾渣土",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
        **extra,
    }


def test_intake_routes_to_the_grid_versions_and_worker_on_duty(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    response = reporting_app(db_session, client_for).post(
        "/api/v1/incidents", json=_report(g.lon, g.lat)
    )
    assert response.status_code == 201, response.text
    created = response.json()["incident"]
    row = db_session.execute(
        text(
            "SELECT grid_id, community_id, street_id, assignee_id, status, source, due_at, "
            "reported_at, escalation_level FROM incident WHERE id = :id"
        ),
        {"id": created["id"]},
    ).one()
    # Expected routing computed independently: the grid containing the point, its parents by code.
    assert (row.grid_id, row.community_id, row.street_id) == (
        g.grid_id,
        g.community_id,
        g.street_id,
    )
    expected_worker = db_session.execute(
        text(
            """
            SELECT gs.person_id FROM grid_staff gs
            WHERE gs.area_id = :g AND gs.role = 'worker'
            ORDER BY (SELECT count(*) FROM incident i WHERE i.assignee_id = gs.person_id
                      AND i.status IN ('registered', 'dispatched', 'in_progress')
                      AND i.id <> :id), gs.person_id
            LIMIT 1
            """
        ),
        {"g": g.grid_id, "id": created["id"]},
    ).scalar_one()
    assert row.assignee_id == expected_worker
    assert row.status == "reported" and row.source == "public"
    assert row.escalation_level == "grid"
    # Accept and register within one hour of working time (default rule).
    cal = deadlines.load_calendar(db_session)
    assert row.due_at == cal.add(row.reported_at, timedelta(hours=1))
    # The public sees public fields only: no reporter, no assignee.
    assert created["in_scope"] is False
    assert "reporter" not in created and "assignee" not in created
    assert created["grid_code"] == g.grid_code
    assert [h["to"] for h in created["history"]] == ["reported"]
    assert "actor" not in created["history"][0]
    assert response.headers["location"] == f"/api/v1/incidents/{created['id']}"


def _east_of_the_city(session: Session, metres: float) -> tuple[float, float]:
    """A point ``metres`` due east of the district's easternmost vertex."""
    east = session.execute(
        text(
            "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT (ST_DumpPoints(geom)).geom AS p"
            " FROM area WHERE level = 'district' AND valid_to IS NULL) d ORDER BY ST_X(p) DESC"
            " LIMIT 1"
        )
    ).one()
    return east.x + metres / (111_320 * math.cos(math.radians(east.y))), east.y


def test_outside_every_grid_goes_to_the_unassigned_queue_of_the_nearest_street(
    db_session: Session, client_for: ClientFor
) -> None:
    # 200 m east of the district's easternmost corner: in the city (within the jurisdiction's
    # tolerance) but in no grid.
    lon, lat = _east_of_the_city(db_session, 200)
    admin = viewer("admin", "620881")
    response = client_for(admin).post("/api/v1/incidents", json=_report(lon, lat))
    assert response.status_code == 201, response.text
    body = response.json()["incident"]
    nearest = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'street' AND valid_to IS NULL "
            "ORDER BY ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
            "::geography) LIMIT 1"
        ),
        {"x": lon, "y": lat},
    ).scalar_one()
    assert body["grid_code"] is None and body["unassigned"] is True
    assert body["street_code"] == nearest
    assert body["escalation_level"] == "street"
    assert body["assignee"] is None
    listed = (
        client_for(admin)
        .get("/api/v1/incidents", params={"unassigned": "true", "limit": 1000})
        .json()
    )
    assert body["id"] in [i["id"] for i in listed["items"]]
    assert all(i["grid_code"] is None for i in listed["items"])


@pytest.mark.parametrize(
    "where", ["minus_one", "null_island", "sign_lost", "east_2km", "gcj02_sent_far_away"]
)
def test_points_outside_the_jurisdiction_are_refused(
    db_session: Session, client_for: ClientFor, where: str
) -> None:
    g = grid_point(db_session)
    lon, lat = {
        "minus_one": (-1.0, -1.0),
        "null_island": (0.0, 0.0),
        "sign_lost": (g.lon, -g.lat),
        "east_2km": _east_of_the_city(db_session, 2000),
        "gcj02_sent_far_away": (g.lon + 3.0, g.lat),
    }[where]
    n_before = db_session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    for client in (
        reporting_app(db_session, client_for),
        client_for(viewer("admin", "620881")),
    ):
        response = client.post("/api/v1/incidents", json=_report(lon, lat))
        assert response.status_code == 400, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["parameter"] == "geometry"
        assert "outside the city's districts" in problem["detail"]
    assert db_session.execute(text("SELECT count(*) FROM incident")).scalar_one() == n_before


def test_public_intake_needs_a_key_or_a_sign_in(db_session: Session, client_for: ClientFor) -> None:
    g = grid_point(db_session)
    n_before = db_session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    anonymous = client_for(ANONYMOUS)
    _, key = create_api_client(db_session, "intake-key-test")
    for headers, params in (
        ({}, {}),
        ({"X-API-Key": "gg_not-a-key"}, {}),
        ({}, {"api_key": key[:-1]}),
    ):
        refused = anonymous.post(
            "/api/v1/incidents", json=_report(g.lon, g.lat), headers=headers, params=params
        )
        assert refused.status_code == 403, refused.text
        assert "API key" in refused.json()["detail"]
    assert db_session.execute(text("SELECT count(*) FROM incident")).scalar_one() == n_before
    # The key in the header or the query, or a signed-in account, is let in; a key records its
    # use.
    by_header = anonymous.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat), headers={"X-API-Key": key}
    )
    by_query = anonymous.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat), params={"api_key": key}
    )
    signed_in = client_for(viewer("grid_worker", g.grid_code)).post(
        "/api/v1/incidents", json=_report(g.lon, g.lat)
    )
    assert [r.status_code for r in (by_header, by_query, signed_in)] == [201, 201, 201]
    sources = db_session.execute(
        text("SELECT source FROM incident WHERE id = ANY(:ids) ORDER BY id"),
        {"ids": [r.json()["incident"]["id"] for r in (by_header, by_query)]},
    ).scalars()
    assert list(sources) == ["public", "public"]
    assert db_session.execute(
        text("SELECT last_used_at IS NOT NULL FROM api_client WHERE name = 'intake-key-test'")
    ).scalar_one()
    # A revoked key stops working at once.
    revoke_api_client(db_session, "intake-key-test")
    revoked = anonymous.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat), headers={"X-API-Key": key}
    )
    assert revoked.status_code == 403


def test_reporting_apps_share_one_rate_limit_with_open311(
    db_session: Session, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One limiter for every public way in (api/middleware.py): a key is not a sign-in.
    monkeypatch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "3")
    app = reporting_app(db_session, client_for)
    g = grid_point(db_session)
    open311 = {
        "api_key": app.headers["X-API-Key"],
        "service_code": "E01",
        "lat": str(g.lat),
        "long": str(g.lon),
        "description": "限流测试",
    }
    statuses = [
        app.post("/api/v1/incidents", json=_report(g.lon, g.lat)).status_code,
        app.post("/open311/v2/requests.json", data=open311).status_code,
        app.post("/api/v1/incidents", json=_report(g.lon, g.lat)).status_code,
        app.post("/open311/v2/requests.json", data=open311).status_code,
    ]
    assert statuses == [201, 201, 201, 429]
    limited = app.post("/api/v1/incidents", json=_report(g.lon, g.lat))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_every_intake_path_writes_one_case_code_format(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    made = reporting_app(db_session, client_for).post(
        "/api/v1/incidents", json=_report(g.lon, g.lat)
    )
    case = made.json()["incident"]
    reported = datetime.fromisoformat(case["reported_at"])
    assert case["code"] == intake.case_code(g.district_code, reported, case["id"])
    assert intake.CASE_CODE.fullmatch(case["code"])
    # The demo loader's cases (tests/gis/test_io_incident_intake.py covers imports; Open311
    # shares this intake, tests/api/test_open311.py).
    codes = db_session.execute(
        text("SELECT code, id, district_code, reported_at FROM incident ORDER BY id LIMIT 50")
    ).all()
    assert codes and all(
        r.code == intake.case_code(r.district_code, r.reported_at, r.id) for r in codes
    )


def test_gcj02_points_are_converted_before_routing(
    db_session: Session, client_for: ClientFor
) -> None:
    from gis.crs import from_wgs84

    g = grid_point(db_session, 3)
    gx, gy = from_wgs84(g.lon, g.lat, "GCJ02")
    body = _report(gx, gy, crs="gcj02")
    created = (
        reporting_app(db_session, client_for)
        .post("/api/v1/incidents", json=body)
        .json()["incident"]
    )
    assert created["grid_code"] == g.grid_code
    assert created["lon"] == pytest.approx(g.lon, abs=1e-6)
    assert created["lat"] == pytest.approx(g.lat, abs=1e-6)


def test_duplicates_within_50_m_are_returned_and_can_be_linked(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session, 1)
    anon = reporting_app(db_session, client_for)
    first = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat)).json()
    # About 30 m north: a duplicate; a different category at the same point is not.
    near = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat + 0.00027)).json()
    other = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat, category="公用设施")).json()
    assert first["incident"]["id"] in [d["id"] for d in near["duplicates"]]
    dup = next(d for d in near["duplicates"] if d["id"] == first["incident"]["id"])
    expected_m = db_session.execute(
        text(
            "SELECT ST_Distance(a.geom::geography, b.geom::geography) FROM incident a, incident b "
            "WHERE a.id = :a AND b.id = :b"
        ),
        {"a": first["incident"]["id"], "b": near["incident"]["id"]},
    ).scalar_one()
    assert dup["distance_m"] == pytest.approx(expected_m, abs=0.1)
    assert first["incident"]["id"] not in [d["id"] for d in other["duplicates"]]
    # 80 m away is not a duplicate.
    far = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat - 0.00072)).json()
    assert first["incident"]["id"] not in [d["id"] for d in far["duplicates"]]
    # Link instead of opening a new case.
    linked = anon.post(
        "/api/v1/incidents",
        json=_report(g.lon, g.lat, duplicate_of=first["incident"]["id"]),
    )
    assert linked.status_code == 201
    linked_case = linked.json()["incident"]
    assert linked_case["status"] == "rejected"
    assert linked_case["resolution"] == "duplicate"
    assert linked_case["duplicate_of"] == first["incident"]["id"]
    in_scope = client_for(viewer("admin", "620881")).get(
        f"/api/v1/incidents/{first['incident']['id']}"
    )
    assert linked_case["id"] in in_scope.json()["duplicates"]
    # Linking to something that is not a nearby open duplicate is refused, nothing written.
    n_before = db_session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    bad = anon.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat, duplicate_of=other["incident"]["id"])
    )
    assert bad.status_code == 400 and bad.json()["parameter"] == "duplicate_of"
    assert db_session.execute(text("SELECT count(*) FROM incident")).scalar_one() == n_before


@pytest.mark.parametrize("who", ["public", "grid_chief"])
def test_the_201_body_is_what_reading_the_case_back_returns(
    db_session: Session, client_for: ClientFor, who: str
) -> None:
    # Intake builds its answer from what it wrote instead of reading the case back; the two
    # must not drift apart, for the public (public fields) and in scope (history, staff).
    g = grid_point(db_session, 3)
    client = (
        reporting_app(db_session, client_for)
        if who == "public"
        else client_for(viewer("grid_chief", g.grid_code))
    )
    created = client.post("/api/v1/incidents", json=_report(g.lon, g.lat))
    assert created.status_code == 201, created.text
    body = created.json()["incident"]
    assert body["in_scope"] is (who != "public")
    read_back = client.get(f"/api/v1/incidents/{body['id']}")
    assert read_back.status_code == 200
    assert body == read_back.json()
    if who != "public":
        assert body["history"][0]["actor"] == "grid_chief:t_grid_chief"
        assert body["escalations"] == [] and body["duplicates"] == []


def test_a_holiday_added_moves_the_next_intake_deadline_at_once(db_session: Session) -> None:
    # The parsed calendar is cached per process under the holiday table's fingerprint: an edit
    # from anywhere must reach the very next report.
    g = grid_point(db_session, 5)
    # Wednesday 10 March 2027, 23:30 Beijing time; 市容环境 runs on working time, 60 min to accept.
    now = datetime(2027, 3, 10, 15, 30, tzinfo=UTC)

    def due() -> datetime:
        data = intake.IncidentInput("市容环境", "节假日测试", g.lon, g.lat)
        result = intake.create_incident(db_session, ANONYMOUS, data, now=now)
        return datetime.fromisoformat(result.incident["due_at"])

    # One working hour from after hours: Thursday 09:30 Beijing (01:30 UTC).
    assert due() == datetime(2027, 3, 11, 1, 30, tzinfo=UTC)
    db_session.execute(text("INSERT INTO holiday (day, name) VALUES ('2027-03-11', '测试假日')"))
    assert due() == datetime(2027, 3, 12, 1, 30, tzinfo=UTC)  # Friday 09:30 Beijing


def test_idempotency_key_makes_one_incident(db_session: Session, client_for: ClientFor) -> None:
    g = grid_point(db_session, 2)
    anon = reporting_app(db_session, client_for)
    headers = {"Idempotency-Key": "test-key-0001"}
    a = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat), headers=headers)
    b = anon.post("/api/v1/incidents", json=_report(g.lon, g.lat), headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["incident"]["id"] == b.json()["incident"]["id"]
    assert b.headers["idempotent-replayed"] == "true"
    n = db_session.execute(
        text("SELECT count(*) FROM incident WHERE id = :id"), {"id": a.json()["incident"]["id"]}
    ).scalar_one()
    assert n == 1
    # The same key for another body is a client error.
    c = anon.post(
        "/api/v1/incidents", json=_report(g.lon, g.lat, description="别的"), headers=headers
    )
    assert c.status_code == 409


def test_the_full_loop_with_history_rework_and_rating(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session, 4)
    operator = client_for(viewer("command_operator", g.district_code))
    worker = client_for(viewer("grid_worker", g.grid_code))
    case = worker.post(
        "/api/v1/incidents",
        json=_report(g.lon, g.lat, source="grid_worker"),
        headers={"X-Purpose": "%E6%A0%B8%E5%AE%9E"},  # 核实, percent-encoded UTF-8
    )
    iid = case.json()["incident"]["id"]
    # A worker may unmask in scope, with a purpose; the response is audited.
    assert case.json()["incident"]["reporter"]["name"] == "王小明"
    assert _disclosures(db_session, "t_grid_worker") == [
        (f"incident:{case.json()['incident']['code']}", "核实")
    ]

    def step(client: Any, to: str, **extra: Any) -> Any:
        return client.post(f"/api/v1/incidents/{iid}/transitions", json={"to": to, **extra})

    assert step(operator, "accepted").status_code == 200
    assert step(operator, "registered").status_code == 200
    r = step(operator, "dispatched", dispatched_to="华亭市城市管理综合执法局")
    assert r.status_code == 200 and r.json()["dispatched_to"] == "华亭市城市管理综合执法局"
    # The handling deadline: the category's 2 working days (14 working hours) from dispatch.
    row = db_session.execute(
        text(
            "SELECT due_at, (SELECT at FROM incident_transition WHERE incident_id = :id "
            "AND to_status = 'dispatched') AS at FROM incident WHERE id = :id"
        ),
        {"id": iid},
    ).one()
    rule = deadlines.deadline_rule(db_session, "市容环境")
    assert rule.handle == timedelta(hours=14) and not rule.calendar_time
    assert row.due_at == deadlines.load_calendar(db_session).add(row.at, rule.handle)
    assert step(worker, "in_progress").status_code == 200
    assert step(worker, "handled", attachments=["https://img.example/1.jpg"]).status_code == 200
    # The grid that handled it does not verify it (separation of duties): the centre does.
    assert step(worker, "in_progress", note="未清理干净").status_code == 403
    assert step(operator, "in_progress", note="未清理干净").json()["rework_count"] == 1
    assert step(worker, "handled").status_code == 200
    assert step(operator, "verified").status_code == 200
    closed = step(operator, "closed")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    # Staff cannot rate for the reporter (一事一评): he rates with the link intake gave him.
    assert step(worker, "evaluated", rating=5).status_code == 403
    assert step(operator, "evaluated", rating=4).status_code == 403
    link = case.json()["rating_link"].removeprefix("/rate/")
    rated = client_for(ANONYMOUS).post(f"/api/v1/ratings/{link}", json={"rating": 4})
    assert rated.status_code == 201, rated.text
    done = operator.get(f"/api/v1/incidents/{iid}").json()
    assert done["rating"] == 4
    history = db_session.execute(
        text(
            "SELECT from_status, to_status, actor, attachments FROM incident_transition "
            "WHERE incident_id = :id ORDER BY at, id"
        ),
        {"id": iid},
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "reported"),
        ("reported", "accepted"),
        ("accepted", "registered"),
        ("registered", "dispatched"),
        ("dispatched", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "verified"),
        ("verified", "closed"),
        ("closed", "evaluated"),
    ]
    assert history[1].actor == "command_operator:t_command_operator"
    assert history[5].attachments == ["https://img.example/1.jpg"]
    assert [h["to"] for h in done["history"]] == [h.to_status for h in history]
    events = db_session.execute(
        text("SELECT kind, status FROM incident_event WHERE incident_id = :id ORDER BY id"),
        {"id": iid},
    ).all()
    assert [(e.kind, e.status) for e in events] == [("created", "reported")] + [
        ("transition", h.to_status) for h in history[1:]
    ]


def test_created_event_carries_the_stored_summary_and_its_transaction(
    db_session: Session, client_for: ClientFor
) -> None:
    """Intake builds the stream's summary without reading the case back: it must equal what
    the stored row says, and the event must record the writing transaction (migration 0007)."""
    g = grid_point(db_session)
    response = reporting_app(db_session, client_for).post(
        "/api/v1/incidents", json=_report(g.lon, g.lat)
    )
    assert response.status_code == 201, response.text
    iid = response.json()["incident"]["id"]
    event = db_session.execute(
        text(
            "SELECT kind, status, payload, xid, xid = pg_current_xact_id()::text::bigint AS ours "
            "FROM incident_event WHERE incident_id = :id"
        ),
        {"id": iid},
    ).one()
    expected = db_session.execute(
        text(
            """
            SELECT jsonb_build_object(
                'id', i.id, 'code', i.code, 'kind', i.kind, 'category', i.category,
                'status', i.status, 'escalation_level', i.escalation_level,
                'lon', ST_X(i.geom), 'lat', ST_Y(i.geom), 'grid_code', g.code) AS summary,
                i.due_at, i.updated_at
            FROM incident i LEFT JOIN area g ON g.id = i.grid_id WHERE i.id = :id
            """
        ),
        {"id": iid},
    ).one()
    assert (event.kind, event.status) == ("created", "reported")
    payload = dict(event.payload)
    due_at, updated_at = payload.pop("due_at"), payload.pop("updated_at")
    assert payload == expected.summary
    assert datetime.fromisoformat(due_at) == expected.due_at
    assert datetime.fromisoformat(updated_at) == expected.updated_at
    # The test's outer transaction wrote it (the app's commit was a savepoint).
    assert event.ours is True and event.xid > 0


def test_illegal_transition_is_409_listing_the_allowed_ones(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session, 5)
    operator = client_for(viewer("command_operator", g.district_code))
    iid = operator.post("/api/v1/incidents", json=_report(g.lon, g.lat)).json()["incident"]["id"]
    r = operator.post(f"/api/v1/incidents/{iid}/transitions", json={"to": "closed"})
    assert r.status_code == 409
    assert r.json()["detail"] == "cannot go from reported to closed; allowed: accepted, rejected"
    # Anonymous and out-of-scope viewers may not move a case.
    assert (
        client_for(ANONYMOUS)
        .post(f"/api/v1/incidents/{iid}/transitions", json={"to": "accepted"})
        .status_code
        == 403
    )
    other = grid_point(db_session, 40)
    outsider = client_for(viewer("grid_worker", other.grid_code))
    if other.grid_code != g.grid_code:
        assert (
            outsider.post(
                f"/api/v1/incidents/{iid}/transitions", json={"to": "accepted"}
            ).status_code
            == 403
        )
    # Refusing needs a resolution.
    r = operator.post(f"/api/v1/incidents/{iid}/transitions", json={"to": "rejected"})
    assert r.status_code == 400 and r.json()["parameter"] == "resolution"
    status = db_session.execute(
        text("SELECT status FROM incident WHERE id = :id"), {"id": iid}
    ).scalar_one()
    assert status == "reported"


def test_masking_and_scope(db_session: Session, client_for: ClientFor) -> None:
    g = grid_point(db_session, 6)
    other = grid_point(db_session, 30)
    assert other.grid_code != g.grid_code
    iid = (
        reporting_app(db_session, client_for)
        .post("/api/v1/incidents", json=_report(g.lon, g.lat))
        .json()["incident"]["id"]
    )
    chief_client = client_for(viewer("grid_chief", g.grid_code))
    masked = chief_client.get(f"/api/v1/incidents/{iid}").json()
    # No purpose: masked (not refused), and nothing to audit.
    assert masked["reporter"] == {
        "name": mask_name("王小明"),
        "phone": mask_phone("13812345678"),
        "email": None,
    }
    assert masked["masked"] is True and _disclosures(db_session, "t_grid_chief") == []
    chief = chief_client.get(f"/api/v1/incidents/{iid}", params={"purpose": "回访报案人"}).json()
    assert chief["reporter"] == {"name": "王小明", "phone": "13812345678", "email": None}
    assert chief["history"][0]["actor"] == "群众"
    assert _disclosures(db_session, "t_grid_chief") == [(f"incident:{chief['code']}", "回访报案人")]
    subjects = db_session.execute(
        text("SELECT subjects FROM audit_log WHERE username = 't_grid_chief'")
    ).scalar_one()
    assert f"incident:{chief['code']}" in subjects
    assert f"person:{chief['assignee']['id']}" in subjects
    # A planner has no need: generalised even with a purpose (surname only, no phone).
    planner = client_for(viewer("planner", g.district_code)).get(
        f"/api/v1/incidents/{iid}", params={"purpose": "规划"}
    )
    assert planner.json()["reporter"]["name"] == "王**"
    assert planner.json()["reporter"]["phone"] is None
    outsider = client_for(viewer("grid_chief", other.grid_code)).get(f"/api/v1/incidents/{iid}")
    assert outsider.json()["in_scope"] is False and "reporter" not in outsider.json()


def test_list_filters_agree_with_sql(db_session: Session, client_for: ClientFor) -> None:
    admin = client_for(viewer("admin", "620881"))
    now = datetime.now(UTC)
    street = grid_point(db_session).street_code
    params = {"status": "dispatched,in_progress", "within": street, "limit": 1000}
    got = admin.get("/api/v1/incidents", params=params).json()
    expected = (
        db_session.execute(
            text(
                """
            SELECT i.id FROM incident i JOIN area s ON s.id = i.street_id
            WHERE i.status IN ('dispatched', 'in_progress') AND s.code = :street
            ORDER BY i.reported_at DESC, i.id DESC
            """
            ),
            {"street": street},
        )
        .scalars()
        .all()
    )
    assert got["total"] == len(expected)
    assert [i["id"] for i in got["items"]] == list(expected)[:1000]
    overdue = admin.get("/api/v1/incidents", params={"overdue": "true", "limit": 1000}).json()
    expected_overdue = db_session.execute(
        text(
            "SELECT count(*) FROM incident WHERE status IN "
            "('reported', 'registered', 'dispatched', 'in_progress') AND due_at < :now"
        ),
        {"now": now},
    ).scalar_one()
    assert overdue["total"] == expected_overdue
    assert all(i["overdue"] for i in overdue["items"])
    bbox = db_session.execute(
        text(
            "SELECT ST_XMin(geom) w, ST_YMin(geom) s, ST_XMax(geom) e, ST_YMax(geom) n "
            "FROM (SELECT ST_Envelope(geom) geom FROM area WHERE code = :c AND valid_to IS NULL) x"
        ),
        {"c": street},
    ).one()
    in_box = admin.get(
        "/api/v1/incidents",
        params={"bbox": f"{bbox.w},{bbox.s},{bbox.e},{bbox.n}", "category": "公用设施"},
    ).json()
    expected_box = db_session.execute(
        text(
            "SELECT count(*) FROM incident WHERE category = '公用设施' AND "
            "geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        ),
        {"w": bbox.w, "s": bbox.s, "e": bbox.e, "n": bbox.n},
    ).scalar_one()
    assert in_box["total"] == expected_box
    bad = admin.get("/api/v1/incidents", params={"status": "nonsense"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "status"
    naive = admin.get("/api/v1/incidents", params={"start": "2026-01-01T00:00:00"})
    assert naive.status_code == 400


def test_escalation_climbs_one_level_and_emits_an_event(db_session: Session) -> None:
    g = grid_point(db_session, 7)
    operator = viewer("command_operator", g.district_code)
    reported = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
    result = intake.create_incident(
        db_session,
        operator,
        intake.IncidentInput("街面秩序", "占道经营", g.lon, g.lat),
        now=reported,
    )
    iid = result.incident["id"]
    due = db_session.execute(
        text("SELECT due_at FROM incident WHERE id = :i"), {"i": iid}
    ).scalar_one()
    # 17:00 Beijing: 30 working minutes left on Monday, 30 more from 08:30 on Tuesday.
    assert due == datetime(2026, 11, 17, 1, 0, tzinfo=UTC)
    assert all(
        e["incident_id"] != iid for e in escalation.escalate_overdue(db_session, due - timedelta(1))
    )
    first = [
        e
        for e in escalation.escalate_overdue(db_session, due + timedelta(minutes=1))
        if e["incident_id"] == iid
    ]
    assert first == [
        {"incident_id": iid, "from": "grid", "to": "community", "area_id": g.community_id}
    ]
    # Not again within the escalation interval (7 working hours, one working day), even 8
    # clock hours later (17:01 Beijing: 6 working hours), then one more level.
    for later_by in (timedelta(hours=2), timedelta(hours=8)):
        again = escalation.escalate_overdue(db_session, due + later_by)
        assert all(e["incident_id"] != iid for e in again)
    later = [
        e
        for e in escalation.escalate_overdue(db_session, due + timedelta(hours=25))
        if e["incident_id"] == iid
    ]
    assert [e["to"] for e in later] == ["street"]
    events = db_session.execute(
        text(
            "SELECT kind, payload->>'escalation_level' AS level FROM incident_event "
            "WHERE incident_id = :i ORDER BY id"
        ),
        {"i": iid},
    ).all()
    assert [(e.kind, e.level) for e in events] == [
        ("created", "grid"),
        ("escalated", "community"),
        ("escalated", "street"),
    ]


def test_cli_escalate_command_is_registered() -> None:
    from typer.testing import CliRunner

    from gridgov.cli import app

    result = CliRunner().invoke(app, ["incidents", "--help"])
    assert result.exit_code == 0 and "escalate" in result.output


def test_concurrent_transitions_cannot_both_win(demo_engine: Engine) -> None:
    """Two operators accept one committed case at once: one wins, the other gets 409.

    (Both take the same step: 受理 vs 不予受理 would not do, since 不予立案 is still allowed once
    the case is accepted, so whichever came second could win too.)
    """
    with Session(demo_engine) as setup:
        g = grid_point(setup, 8)
        op = viewer("command_operator", g.district_code)
        iid = intake.create_incident(
            setup, op, intake.IncidentInput("市容环境", "并发测试", g.lon, g.lat)
        ).incident["id"]
        setup.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(to: str) -> None:
        with Session(demo_engine) as s:
            barrier.wait()
            try:
                extra = {"resolution": "invalid"} if to == "rejected" else {}
                transitions.transition(s, op, iid, transitions.TransitionInput(to=to, **extra))  # type: ignore[arg-type]
                s.commit()
                outcomes.append("won")
            except (IllegalTransition, Conflict):
                s.rollback()
                outcomes.append("conflict")

    try:
        threads = [threading.Thread(target=attempt, args=(t,)) for t in ("accepted", "accepted")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes) == ["conflict", "won"]
        with Session(demo_engine) as check:
            n = check.execute(
                text("SELECT count(*) FROM incident_transition WHERE incident_id = :i"), {"i": iid}
            ).scalar_one()
            assert n == 2  # reported + exactly one winner
    finally:
        with demo_engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE id = :i"), {"i": iid})


def test_forbidden_is_raised_for_roles_the_step_does_not_allow(db_session: Session) -> None:
    g = grid_point(db_session, 9)
    iid = intake.create_incident(
        db_session, ANONYMOUS, intake.IncidentInput("市容环境", "x", g.lon, g.lat)
    ).incident["id"]
    with pytest.raises(Forbidden):
        transitions.transition(
            db_session,
            viewer("grid_worker", g.grid_code),
            iid,
            transitions.TransitionInput("accepted"),
        )
