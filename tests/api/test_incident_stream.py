"""The live stream over real HTTP: a new case arrives as an event; Last-Event-ID resumes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg

from tests.conftest import LiveServer


def _events(
    url: str, params: dict[str, Any], headers: dict[str, str] | None = None, want: int = 1
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{url}/api/v1/incidents/stream", params=params, headers=headers or {}, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and "data" in current:
                out.append(current)
                current = {}
                if len(out) >= want:
                    break
    return out


def _grid_point(url: str) -> tuple[float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def test_stream_delivers_new_incidents_and_resumes(
    live_server: LiveServer, demo_database_url: str
) -> None:
    lon, lat = _grid_point(demo_database_url)
    with psycopg.connect(demo_database_url) as conn:
        start_id = conn.execute("SELECT coalesce(max(id), 0) FROM incident_event").fetchone()[0]
    body = {
        "category": "市容环境",
        "description": "SSE 测试",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
    created = httpx.post(f"{live_server.url}/api/v1/incidents", json=body, timeout=30).json()
    iid = created["incident"]["id"]
    second = httpx.post(f"{live_server.url}/api/v1/incidents", json=body, timeout=30).json()
    try:
        first = _events(live_server.url, {"timeout": 20}, {"Last-Event-ID": str(start_id)})
        assert first[0]["data"]["incident_id"] == iid
        assert first[0]["data"]["change"] == "created"
        assert first[0]["data"]["code"] == created["incident"]["code"]
        assert "reporter" not in first[0]["data"]
        # Resume after the first event: only later ones arrive.
        later = _events(live_server.url, {"timeout": 20}, {"Last-Event-ID": str(first[0]["id"])})
        assert later[0]["id"] > first[0]["id"]
        assert later[0]["data"]["incident_id"] == second["incident"]["id"]
        # Without Last-Event-ID the stream starts now; a bounded stream ends by itself.
        with httpx.stream(
            "GET",
            f"{live_server.url}/api/v1/incidents/stream",
            params={"timeout": 1.5, "heartbeat": 0.5},
            timeout=30,
        ) as r:
            text_body = "".join(r.iter_text())
        assert ": heartbeat" in text_body and "event: incident" not in text_body
        bad = httpx.get(
            f"{live_server.url}/api/v1/incidents/stream",
            headers={"Last-Event-ID": "abc"},
            timeout=10,
        )
        assert bad.status_code == 400
    finally:
        with psycopg.connect(demo_database_url) as conn:
            conn.execute(
                "DELETE FROM incident WHERE id = ANY(%s)", ([iid, second["incident"]["id"]],)
            )
            conn.commit()
