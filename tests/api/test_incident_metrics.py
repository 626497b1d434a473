"""Case-loop metrics and map aggregates against a small hand-built fixture with known outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents import aggregates, metrics
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point

__all__ = ["client_for"]

CST = timezone(timedelta(hours=8))
START = datetime(2030, 3, 1, tzinfo=CST)
END = datetime(2030, 3, 8, tzinfo=CST)


def t(day: int, hour: int) -> datetime:
    return datetime(2030, 3, day, hour, tzinfo=CST)


def _insert(
    session: Session,
    g: Any,
    n: int,
    status: str,
    reported: datetime,
    due: datetime | None,
    closed: datetime | None,
    rework: int,
) -> None:
    session.execute(
        text(
            """
            INSERT INTO incident (code, kind, category, description, source, status, geom,
                street_id, community_id, grid_id, district_code, rework_count, reported_at,
                due_at, closed_at, updated_at)
            VALUES (:code, 'event', '市容环境', 'metrics fixture', 'patrol', :status,
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :s, :c, :g, :d, :rw, :rep, :due,
                :closed, :rep)
            """
        ),
        {
            "code": f"MT{g.grid_code}{n:02d}",
            "status": status,
            "lon": g.lon,
            "lat": g.lat,
            "s": g.street_id,
            "c": g.community_id,
            "g": g.grid_id,
            "d": g.district_code,
            "rw": rework,
            "rep": reported,
            "due": due,
            "closed": closed,
        },
    )


@pytest.fixture
def fixture(db_session: Session) -> tuple[Any, Any]:
    g, h = grid_point(db_session, 20), grid_point(db_session, 21)
    # Grid G: six cases with known outcomes.
    _insert(db_session, g, 1, "closed", t(1, 9), t(3, 9), t(2, 9), 0)  # on time, 24 h
    _insert(db_session, g, 2, "closed", t(1, 10), t(2, 10), t(3, 10), 1)  # late, 48 h, rework
    _insert(db_session, g, 3, "evaluated", t(2, 8), t(4, 8), t(2, 20), 0)  # on time, 12 h
    _insert(db_session, g, 4, "in_progress", t(3, 8), t(4, 8), None, 1)  # late, rework
    _insert(db_session, g, 5, "rejected", t(3, 9), None, None, 0)
    _insert(db_session, g, 6, "reported", t(7, 9), t(7, 10), None, 0)  # late at the end
    # Grid H: one dispatched case not yet due.
    _insert(db_session, h, 7, "dispatched", t(5, 8), t(20, 8), None, 0)
    # Outside the window: must not count.
    _insert(db_session, g, 8, "closed", t(8, 9), t(9, 9), t(8, 10), 0)
    return g, h


def test_grid_metrics_match_hand_computed_values(
    db_session: Session, fixture: tuple[Any, Any]
) -> None:
    g, h = fixture
    rows = metrics.metrics(db_session, level="grid", start=START, end=END, now=t(10, 0))
    by_code = {r["area_code"]: r for r in rows}
    assert set(by_code) == {g.grid_code, h.grid_code}
    rg = by_code[g.grid_code]
    assert (rg["reported"], rg["registered"], rg["closed"], rg["closed_on_time"]) == (6, 4, 3, 2)
    assert (rg["reworked"], rg["overdue"]) == (2, 2)
    assert rg["closure_rate"] == 0.75
    assert rg["on_time_rate"] == round(2 / 3, 6)
    assert rg["rework_rate"] == 0.5
    assert rg["avg_handling_hours"] == 28.0  # (24 + 48 + 12) / 3
    rh = by_code[h.grid_code]
    assert (rh["reported"], rh["registered"], rh["closed"], rh["overdue"]) == (1, 1, 0, 0)
    assert rh["closure_rate"] == 0.0 and rh["on_time_rate"] is None
    assert rh["avg_handling_hours"] is None
    # As of 4 March 12:00 only case 4 (due 4 March 08:00) was late: case 6 came later.
    early = metrics.metrics(db_session, level="grid", start=START, end=END, now=t(4, 12))
    assert {r["area_code"]: r["overdue"] for r in early}[g.grid_code] == 1


def test_levels_and_periods(db_session: Session, fixture: tuple[Any, Any]) -> None:
    g, h = fixture
    street = metrics.metrics(db_session, level="street", start=START, end=END, now=t(10, 0))
    expected_reported = 7 if g.street_code == h.street_code else 6
    row = next(r for r in street if r["area_code"] == g.street_code)
    assert row["reported"] == expected_reported
    assert row["area_name"] is not None
    daily = metrics.metrics(
        db_session,
        level="grid",
        start=START,
        end=END,
        period="day",
        within=g.grid_code,
        now=t(10, 0),
    )
    days = {r["period_start"][:10]: r for r in daily}
    assert sorted(days) == ["2030-03-01", "2030-03-02", "2030-03-03", "2030-03-07"]
    assert (days["2030-03-01"]["reported"], days["2030-03-01"]["closure_rate"]) == (2, 1.0)
    assert days["2030-03-01"]["on_time_rate"] == 0.5
    assert days["2030-03-03"]["registered"] == 1 and days["2030-03-03"]["closed"] == 0


def test_metrics_endpoint(client_for: ClientFor, fixture: tuple[Any, Any]) -> None:
    g, _ = fixture
    r = client_for(ANONYMOUS).get(
        "/api/v1/incidents/metrics",
        params={
            "level": "community",
            "within": g.community_code,
            "start": START.isoformat(),
            "end": END.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [x["area_code"] for x in rows] == [g.community_code]
    # Now (2026) is before every deadline of 2030: nothing overdue yet.
    assert rows[0]["overdue"] == 0
    bad = client_for(ANONYMOUS).get(
        "/api/v1/incidents/metrics",
        params={"level": "planet", "start": START.isoformat(), "end": END.isoformat()},
    )
    assert bad.status_code == 400 and bad.json()["parameter"] == "level"


def test_aggregates_per_grid_and_per_hexagon(
    db_session: Session, client_for: ClientFor, fixture: tuple[Any, Any]
) -> None:
    g, h = fixture
    c = client_for(ANONYMOUS)
    params = {"start": START.isoformat(), "end": END.isoformat()}
    grid = c.get("/api/v1/incidents/aggregates", params={**params, "by": "grid"}).json()
    counts = {f["properties"]["grid_code"]: f["properties"]["count"] for f in grid["features"]}
    assert counts == {g.grid_code: 6, h.grid_code: 1}
    opened = {f["properties"]["grid_code"]: f["properties"]["open"] for f in grid["features"]}
    assert opened == {g.grid_code: 2, h.grid_code: 1}
    daily = c.get(
        "/api/v1/incidents/aggregates", params={**params, "by": "grid", "bucket": "day"}
    ).json()
    assert sum(f["properties"]["count"] for f in daily["features"]) == 7
    assert len(daily["features"]) == 5  # G on 1, 2, 3, 7 March; H on 5 March
    pad = 0.01
    bbox = f"{g.lon - pad},{g.lat - pad},{g.lon + pad},{g.lat + pad}"
    hexes = c.get(
        "/api/v1/incidents/aggregates",
        params={**params, "by": "hex", "zoom": 15, "bbox": bbox},
    ).json()
    assert hexes["hexagon_size_m"] == pytest.approx(aggregates.hexagon_size(15), abs=1e-3)
    total_in_box = db_session.execute(
        text(
            "SELECT count(*) FROM incident WHERE reported_at >= :s AND reported_at < :e "
            "AND geom && ST_MakeEnvelope(:w, :so, :ea, :n, 4326)"
        ),
        {
            "s": START,
            "e": END,
            "w": g.lon - pad,
            "so": g.lat - pad,
            "ea": g.lon + pad,
            "n": g.lat + pad,
        },
    ).scalar_one()
    # Every case in the view lands in exactly one hexagon (hexagons tile the view).
    assert sum(f["properties"]["count"] for f in hexes["features"]) >= total_in_box
    g_hex = [f for f in hexes["features"] if f["properties"]["count"] >= 6]
    assert g_hex and g_hex[0]["geometry"]["type"] == "Polygon"
    too_big = c.get(
        "/api/v1/incidents/aggregates",
        params={"by": "hex", "zoom": 22, "bbox": "100,30,110,40"},
    )
    assert too_big.status_code == 400 and too_big.json()["parameter"] == "zoom"
