"""Patrols and household visits over the API against PostGIS: scoping, distance, idempotent
track points, one-call finding → case, masked and audited visit notes, KPIs and coverage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from data.fieldwork import load_demo_fieldwork
from gis import audit
from gis.accounts import ensure_demo_accounts
from gis.scope import ANONYMOUS, Viewer
from tests.api.incident_helpers import ClientFor, client_for, grid_point
from tests.api.security_helpers import add_account

__all__ = ["client_for"]


def _points(lon: float, lat: float, n: int, start: datetime, prefix: str = "p") -> list[Any]:
    # About 11 m north per step (0.0001° of latitude).
    return [
        {
            "id": f"{prefix}{i}",
            "lon": lon,
            "lat": lat + 0.0001 * i,
            "at": (start + timedelta(seconds=10 * i)).isoformat(),
            "accuracy_m": 5.0,
        }
        for i in range(n)
    ]


def _building(session: Session, grid_code: str) -> Any:
    return session.execute(
        text(
            "SELECT b.id, min(h.id) AS household_id FROM building b JOIN area g ON g.id = b.grid_id"
            " JOIN household h ON h.building_id = b.id"
            " WHERE g.code = :g AND b.valid_to IS NULL GROUP BY b.id ORDER BY b.id LIMIT 1"
        ),
        {"g": grid_code},
    ).one()


def _audit_rows(session: Session, username: str) -> list[Any]:
    return list(
        session.execute(
            text(
                "SELECT action, target, purpose, subjects FROM audit_log"
                " WHERE username = :u AND target = '/api/v1/field/visits'"
            ),
            {"u": username},
        ).all()
    )


def test_a_patrol_records_an_idempotent_track_measured_on_the_geography(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "f_worker", "grid_worker", g.grid_code))
    started = worker.post("/api/v1/field/patrols", json={"lon": g.lon, "lat": g.lat})
    assert started.status_code == 201, started.text
    patrol = started.json()
    assert (patrol["grid_code"], patrol["worker"], patrol["ended_at"]) == (
        g.grid_code,
        "f_worker",
        None,
    )
    # A second open patrol is refused.
    again = worker.post("/api/v1/field/patrols", json={})
    assert again.status_code == 409 and "application/problem+json" in again.headers["content-type"]

    start = datetime.fromisoformat(patrol["started_at"]) + timedelta(seconds=1)
    batch = {"points": _points(g.lon, g.lat, 4, start)}
    url = f"/api/v1/field/patrols/{patrol['id']}/points"
    first = worker.post(url, json=batch)
    assert first.status_code == 200, first.text
    assert (first.json()["accepted"], first.json()["points"]) == (4, 4)
    # The same batch again (a retry after a lost answer) adds nothing.
    retry = worker.post(url, json=batch)
    assert (retry.json()["accepted"], retry.json()["points"]) == (0, 4)
    expected = db_session.execute(
        text(
            "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography,"
            " ST_SetSRID(ST_MakePoint(:x, :y + 0.0003), 4326)::geography)"
        ),
        {"x": g.lon, "y": g.lat},
    ).scalar_one()
    assert retry.json()["distance_m"] == round(expected, 1)
    assert 30 < expected < 36

    ended = worker.post(f"/api/v1/field/patrols/{patrol['id']}/end")
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    assert len(ended.json()["track"]["coordinates"]) == len(ended.json()["times"]) == 4
    late = worker.post(url, json={"points": _points(g.lon, g.lat, 1, start, "late")})
    assert late.status_code == 409
    # The batch re-sent after the end (its answer was lost) is harmless: nothing new.
    resent = worker.post(url, json=batch)
    assert resent.status_code == 200 and resent.json()["accepted"] == 0
    stored = db_session.execute(
        text("SELECT count(*) FROM patrol_point WHERE patrol_id = :p"), {"p": patrol["id"]}
    ).scalar_one()
    assert stored == 4


def test_bad_points_are_refused_and_nothing_is_written(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "f_worker2", "grid_worker", g.grid_code))
    patrol = worker.post("/api/v1/field/patrols", json={}).json()
    url = f"/api/v1/field/patrols/{patrol['id']}/points"
    future = datetime.now(UTC) + timedelta(hours=2)
    r = worker.post(url, json={"points": _points(g.lon, g.lat, 2, future)})
    assert r.status_code == 400 and r.json()["parameter"].startswith("points[0]")
    r = worker.post(url, json={"points": [{"id": "x", "lon": 200, "lat": 0, "at": "2026-01-01"}]})
    assert r.status_code == 422
    stored = db_session.execute(
        text("SELECT count(*) FROM patrol_point WHERE patrol_id = :p"), {"p": patrol["id"]}
    ).scalar_one()
    assert stored == 0


def test_patrols_are_scoped_worker_own_chief_grid_community_subtree(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    other = grid_point(db_session, 1)
    a = client_for(add_account(db_session, "f_a", "grid_worker", g.grid_code))
    b = client_for(add_account(db_session, "f_b", "grid_worker", g.grid_code))
    pa = a.post("/api/v1/field/patrols", json={}).json()
    b.post("/api/v1/field/patrols", json={})
    chief = client_for(add_account(db_session, "f_chief", "grid_chief", g.grid_code))
    stranger = client_for(add_account(db_session, "f_far", "grid_chief", other.grid_code))
    community = client_for(
        add_account(db_session, "f_comm", "community_secretary", g.community_code)
    )
    workers = lambda c: sorted(p["worker"] for p in c.get("/api/v1/field/patrols").json()["items"])  # noqa: E731
    assert workers(a) == ["f_a"]
    assert workers(chief) == ["f_a", "f_b"]
    assert workers(community) == ["f_a", "f_b"]
    assert workers(stranger) == []
    assert stranger.get(f"/api/v1/field/patrols/{pa['id']}").status_code == 404
    assert chief.get(f"/api/v1/field/patrols/{pa['id']}").json()["worker"] == "f_a"
    # Another worker may not append to a's patrol, nor end it.
    assert b.post(f"/api/v1/field/patrols/{pa['id']}/end").status_code == 404
    refused = stranger.get("/api/v1/field/patrols", params={"area": g.grid_code})
    assert refused.status_code == 403
    assert client_for().get("/api/v1/field/patrols").status_code == 401


def test_a_finding_becomes_a_case_in_one_call_once(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "f_finder", "grid_worker", g.grid_code))
    patrol = worker.post("/api/v1/field/patrols", json={}).json()
    found = worker.post(
        f"/api/v1/field/patrols/{patrol['id']}/findings",
        json={"description": "井盖缺失", "lon": g.lon, "lat": g.lat},
    )
    assert found.status_code == 201, found.text
    finding = found.json()
    assert finding["incident_id"] is None
    case = worker.post(
        f"/api/v1/field/findings/{finding['id']}/case",
        json={"category": "市容环境"},
        headers={"Idempotency-Key": "finding-1"},
    )
    assert case.status_code == 201, case.text
    incident_id = case.json()["incident_id"]
    row = db_session.execute(
        text("SELECT source, description, grid_id, account_id FROM incident WHERE id = :i"),
        {"i": incident_id},
    ).one()
    assert (row.source, row.description, row.grid_id, row.account_id) == (
        "patrol",
        "井盖缺失",
        g.grid_id,
        "f_finder",
    )
    twice = worker.post(
        f"/api/v1/field/findings/{finding['id']}/case", json={"category": "市容环境"}
    )
    assert twice.status_code == 200 and twice.json()["incident_id"] == incident_id
    bad = worker.post(
        f"/api/v1/field/patrols/{patrol['id']}/findings",
        json={"description": "x", "lon": g.lon, "lat": g.lat, "media": [999999999]},
    )
    assert bad.status_code == 400 and bad.json()["parameter"] == "media"
    kpis = worker.get("/api/v1/field/kpis").json()["workers"]
    assert [(k["worker"], k["findings"], k["findings_to_cases"]) for k in kpis] == [
        ("f_finder", 1, 1)
    ]


def test_visit_notes_are_masked_and_their_disclosure_is_audited(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    place = _building(db_session, g.grid_code)
    worker = client_for(add_account(db_session, "f_visitor", "grid_worker", g.grid_code))
    body = {
        "building_id": place.id,
        "household_id": place.household_id,
        "purpose": "关爱帮扶",
        "notes": "独居老人张某，血压偏高",
        "people_met": "张某",
        "lon": g.lon,
        "lat": g.lat,
        "accuracy_m": 8,
        "client_id": "visit-1",
    }
    created = worker.post("/api/v1/field/visits", json=body)
    assert created.status_code == 201, created.text
    assert "notes" not in created.json()
    again = worker.post("/api/v1/field/visits", json=body)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    bad = worker.post("/api/v1/field/visits", json={**body, "purpose": "闲聊", "client_id": None})
    assert bad.status_code == 400 and bad.json()["parameter"] == "purpose"

    chief = client_for(add_account(db_session, "f_vchief", "grid_chief", g.grid_code))
    masked = chief.get("/api/v1/field/visits").json()["items"]
    assert [(v["notes"], v["people_met"], v["masked"]) for v in masked] == [("***", "***", True)]
    assert _audit_rows(db_session, "f_vchief") == []
    planner = client_for(add_account(db_session, "f_planner", "planner", g.district_code))
    planned = planner.get("/api/v1/field/visits", params={"purpose": "统计分析"}).json()
    assert [v["notes"] for v in planned["items"]] == ["***"]
    assert _audit_rows(db_session, "f_planner") == []

    shown = chief.get("/api/v1/field/visits", params={"purpose": "入户走访复核"}).json()["items"]
    assert [(v["notes"], v["people_met"], v["masked"]) for v in shown] == [
        ("独居老人张某，血压偏高", "张某", False)
    ]
    rows = _audit_rows(db_session, "f_vchief")
    assert [(r.action, r.purpose, r.subjects) for r in rows] == [
        (audit.READ_UNMASKED, "入户走访复核", [f"household:{place.household_id}"])
    ]


def test_kpis_and_coverage_count_the_period(db_session: Session, client_for: ClientFor) -> None:
    g = grid_point(db_session)
    place = _building(db_session, g.grid_code)
    worker = client_for(add_account(db_session, "f_kpi", "grid_worker", g.grid_code))
    patrol = worker.post("/api/v1/field/patrols", json={}).json()
    start = datetime.fromisoformat(patrol["started_at"]) + timedelta(seconds=1)
    worker.post(
        f"/api/v1/field/patrols/{patrol['id']}/points",
        json={"points": _points(g.lon, g.lat, 3, start)},
    )
    worker.post(f"/api/v1/field/patrols/{patrol['id']}/end")
    for purpose in ("日常走访", "政策宣传"):
        r = worker.post(
            "/api/v1/field/visits",
            json={"building_id": place.id, "household_id": place.household_id, "purpose": purpose},
        )
        assert r.status_code == 201
    chief = client_for(add_account(db_session, "f_kchief", "grid_chief", g.grid_code))
    kpis = chief.get("/api/v1/field/kpis").json()["workers"]
    mine = [k for k in kpis if k["worker"] == "f_kpi"]
    assert len(mine) == 1
    assert (mine[0]["patrols"], mine[0]["visits"], mine[0]["households_visited"]) == (1, 2, 1)
    assert 20 < mine[0]["distance_m"] < 24
    assert mine[0]["patrol_hours"] >= 0

    cov = chief.get("/api/v1/field/coverage", params={"period": "quarter"}).json()
    by_id = {f["properties"]["building_id"]: f["properties"] for f in cov["features"]}
    assert by_id[place.id]["status"] == "visited"
    assert by_id[place.id]["households_visited"] == 1
    total_buildings = db_session.execute(
        text(
            "SELECT count(*) FROM building b JOIN area g ON g.id = b.grid_id"
            " WHERE g.code = :g AND b.valid_to IS NULL"
        ),
        {"g": g.grid_code},
    ).scalar_one()
    assert sum(cov["counts"].values()) == len(cov["features"]) == total_buildings
    assert cov["counts"]["visited"] >= 1
    assert chief.get("/api/v1/field/coverage", params={"period": "year"}).status_code == 422


def test_writes_queued_offline_are_stored_once_by_their_idempotency_key(
    db_session: Session, client_for: ClientFor
) -> None:
    """What the phone's outbox relies on: a finding or a visit sent again with the same
    Idempotency-Key returns the first (200), even after the patrol has ended."""
    g = grid_point(db_session)
    place = _building(db_session, g.grid_code)
    worker = client_for(add_account(db_session, "f_offline", "grid_worker", g.grid_code))
    patrol = worker.post("/api/v1/field/patrols", json={}).json()
    url = f"/api/v1/field/patrols/{patrol['id']}/findings"
    finding = {"description": "消防通道堵塞", "lon": g.lon, "lat": g.lat}
    key = {"Idempotency-Key": "finding-abc"}
    first = worker.post(url, json=finding, headers=key)
    assert first.status_code == 201, first.text
    assert worker.post(f"/api/v1/field/patrols/{patrol['id']}/end").status_code == 200
    again = worker.post(url, json=finding, headers=key)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # A new finding on the ended patrol is still refused.
    late = worker.post(url, json=finding, headers={"Idempotency-Key": "finding-new"})
    assert late.status_code == 409
    # Another worker's key space is his own: the same key names nothing of hers.
    other = client_for(add_account(db_session, "f_other", "grid_worker", g.grid_code))
    assert other.post(url, json=finding, headers=key).status_code == 404

    household = db_session.execute(
        text("SELECT code FROM household WHERE id = :h"), {"h": place.household_id}
    ).scalar_one()
    visit = {"building_id": place.id, "household_code": household, "purpose": "日常走访"}
    headers = {"Idempotency-Key": "visit-xyz"}
    made = worker.post("/api/v1/field/visits", json=visit, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["household_id"] == place.household_id
    repeat = worker.post("/api/v1/field/visits", json=visit, headers=headers)
    assert repeat.status_code == 200 and repeat.json()["id"] == made.json()["id"]
    stored = db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM patrol_finding WHERE patrol_id = :p),"
            " (SELECT count(*) FROM household_visit v JOIN app_user u ON u.id = v.user_id"
            "  WHERE u.username = 'f_offline')"
        ),
        {"p": patrol["id"]},
    ).one()
    assert tuple(stored) == (1, 1)


def test_a_visit_names_a_household_of_its_building_by_code(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    place = _building(db_session, g.grid_code)
    worker = client_for(add_account(db_session, "f_picker", "grid_worker", g.grid_code))
    elsewhere = db_session.execute(
        text("SELECT code FROM household WHERE building_id <> :b ORDER BY id LIMIT 1"),
        {"b": place.id},
    ).scalar_one()
    body = {"building_id": place.id, "purpose": "日常走访"}
    wrong = worker.post("/api/v1/field/visits", json={**body, "household_code": elsewhere})
    assert wrong.status_code == 400 and wrong.json()["parameter"] == "household_code"
    both = worker.post(
        "/api/v1/field/visits",
        json={**body, "household_code": elsewhere, "household_id": place.household_id},
    )
    assert both.status_code == 400
    whole = worker.post("/api/v1/field/visits", json=body)
    assert whole.status_code == 201 and whole.json()["household_id"] is None
    count = db_session.execute(
        text(
            "SELECT count(*) FROM household_visit v JOIN app_user u ON u.id = v.user_id"
            " WHERE u.username = 'f_picker'"
        )
    ).scalar_one()
    assert count == 1


def test_demo_finding_photos_are_the_workers_until_the_finding_becomes_a_case(
    db_session: Session, client_for: ClientFor
) -> None:
    # `gridgov demo` loads field work on one psycopg connection; here it is the test's own.
    conn = db_session.connection().connection.driver_connection
    ensure_demo_accounts(conn, "demo-photos-password-1")
    assert load_demo_fieldwork(conn)["media"] >= 1
    row = db_session.execute(
        text(
            "SELECT f.id AS finding_id, f.patrol_id, f.media, u.id AS user_id, u.username,"
            " u.role, u.scope_code FROM patrol_finding f JOIN patrol p ON p.id = f.patrol_id"
            " JOIN app_user u ON u.id = p.user_id WHERE cardinality(f.media) > 0"
            " ORDER BY f.at LIMIT 1"
        )
    ).one()
    worker = client_for(Viewer(row.username, row.role, row.scope_code, user_id=row.user_id))
    patrol = worker.get(f"/api/v1/field/patrols/{row.patrol_id}")
    assert patrol.status_code == 200, patrol.text
    assert patrol.json()["findings"] >= 1
    photo = worker.get(f"/api/v1/media/{row.media[0]}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content[:2] == b"\xff\xd8"
    assert worker.get(f"/api/v1/media/{row.media[0]}/thumbnail").status_code == 200
    # Before it is a case, a finding's photo is seen as its patrol is (the field-work scope):
    # a chief of the grid sees it; another worker of the grid (who sees only his own), a chief
    # of another grid and the public are told it does not exist.
    chief = client_for(add_account(db_session, "f_chief_sees", "grid_chief", row.scope_code))
    seen = chief.get(f"/api/v1/media/{row.media[0]}/thumbnail")
    assert seen.status_code == 200 and seen.content[:2] == b"\xff\xd8"
    listed = chief.get(f"/api/v1/field/patrols/{row.patrol_id}").json()["finding_list"]
    shown = next(f for f in listed if f["id"] == row.finding_id)
    assert [p["url"] for p in shown["photos"]] == [f"/api/v1/media/{m}" for m in row.media]
    other_grid = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL AND code <> :g"
            " ORDER BY code LIMIT 1"
        ),
        {"g": row.scope_code},
    ).scalar_one()
    colleague = client_for(add_account(db_session, "f_colleague", "grid_worker", row.scope_code))
    elsewhere = client_for(add_account(db_session, "f_elsewhere", "grid_chief", other_grid))
    for other in (client_for(ANONYMOUS), colleague, elsewhere):
        assert other.get(f"/api/v1/media/{row.media[0]}").status_code == 404
    case = worker.post(
        f"/api/v1/field/findings/{row.finding_id}/case", json={"category": "市容环境"}
    )
    assert case.status_code == 201, case.text
    # Now the case's photos: whoever has the case in scope sees them.
    seen = colleague.get(f"/api/v1/media/{row.media[0]}")
    assert seen.status_code == 200 and seen.content == photo.content


def test_a_patrol_started_offline_is_named_by_the_phone_and_stored_once(
    db_session: Session, client_for: ClientFor
) -> None:
    g = grid_point(db_session)
    worker = client_for(add_account(db_session, "f_offline", "grid_worker", g.grid_code))
    began = datetime.now(UTC) - timedelta(hours=2)
    body = {"lon": g.lon, "lat": g.lat, "started_at": began.isoformat()}
    key = {"Idempotency-Key": "patrol-3f1c"}
    first = worker.post("/api/v1/field/patrols", json=body, headers=key)
    assert first.status_code == 201, first.text
    patrol = first.json()
    assert datetime.fromisoformat(patrol["started_at"]) == began
    # The outbox sends it again (an answer lost): the same patrol, not a 409 for a second one.
    again = worker.post("/api/v1/field/patrols", json=body, headers=key)
    assert again.status_code == 200 and again.json()["id"] == patrol["id"]
    # Points and a finding recorded offline carry the phone's times, after the start.
    url = f"/api/v1/field/patrols/{patrol['id']}"
    points = worker.post(url + "/points", json={"points": _points(g.lon, g.lat, 3, began)})
    assert points.status_code == 200 and points.json()["accepted"] == 3
    found_at = began + timedelta(minutes=5)
    finding = worker.post(
        url + "/findings",
        json={"description": "路灯不亮", "lon": g.lon, "lat": g.lat, "at": found_at.isoformat()},
        headers={"Idempotency-Key": "finding-3f1c"},
    )
    assert finding.status_code == 201, finding.text
    assert datetime.fromisoformat(finding.json()["at"]) == found_at
    assert finding.json()["photos"] == []
    # A finding before the patrol began is refused, and nothing is written.
    early = worker.post(
        url + "/findings",
        json={
            "description": "太早",
            "lon": g.lon,
            "lat": g.lat,
            "at": (began - timedelta(hours=1)).isoformat(),
        },
    )
    assert early.status_code == 400 and early.json()["parameter"] == "at"
    ended_at = began + timedelta(minutes=30)
    ended = worker.post(url + "/end", json={"ended_at": ended_at.isoformat()})
    assert ended.status_code == 200, ended.text
    assert datetime.fromisoformat(ended.json()["ended_at"]) == ended_at
    kpis = worker.get("/api/v1/field/kpis").json()["workers"]
    assert [(k["worker"], k["patrol_hours"], k["findings"]) for k in kpis] == [
        ("f_offline", 0.5, 1)
    ]
    rows = db_session.execute(
        text(
            "SELECT p.client_id, count(f.id) FROM patrol p"
            " LEFT JOIN patrol_finding f ON f.patrol_id = p.id"
            " WHERE p.worker = 'f_offline' GROUP BY p.id"
        )
    ).all()
    assert [tuple(r) for r in rows] == [("patrol-3f1c", 1)]
    # A start too far in the past, in the future, or without a time zone: 4xx, nothing stored.
    for bad in (
        (datetime.now(UTC) - timedelta(days=8)).isoformat(),
        (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    ):
        refused = worker.post(
            "/api/v1/field/patrols", json={"started_at": bad}, headers={"Idempotency-Key": bad}
        )
        assert refused.status_code == 400 and refused.json()["parameter"] == "started_at"
    naive = worker.post("/api/v1/field/patrols", json={"started_at": "2026-01-01T08:00:00"})
    assert naive.status_code == 422 or naive.status_code == 400
    assert (
        db_session.execute(
            text("SELECT count(*) FROM patrol WHERE worker = 'f_offline'")
        ).scalar_one()
        == 1
    )
