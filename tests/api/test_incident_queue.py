"""The command centre's work queue (GET /incidents/queue) and duplicate candidates, against the
demo city plus a handful of cases with known deadlines (their codes start with QT, which no
demo case does, so the case-code search isolates them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.queue import QUEUE_FIELDS
from gis.incidents.vocabulary import KIND_OF_CATEGORY
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer

__all__ = ["client_for"]

NOW = datetime.now(UTC)
ADMIN = viewer("admin", "620881")


def _insert(
    session: Session,
    g: Any,
    code: str,
    *,
    status: str = "registered",
    due: timedelta | None = timedelta(hours=1),
    category: str = "市容环境",
    source: str = "patrol",
    in_grid: bool = True,
    dlon: float = 0.0,
    escalated: bool = False,
    reported: timedelta = timedelta(hours=-2),
) -> int:
    return int(
        session.execute(
            text(
                """
                INSERT INTO incident (code, kind, category, description, source, status, geom,
                    street_id, community_id, grid_id, district_code, reported_at, due_at,
                    updated_at, escalation_level, escalated_at, closed_at)
                VALUES (:code, :kind, :category, 'queue fixture', :source, :status,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :s, :c, :g, :d, :rep, :due,
                    :rep, :level, :esc,
                    CASE WHEN :status IN ('closed', 'evaluated') THEN :rep END)
                RETURNING id
                """
            ),
            {
                "code": code,
                "category": category,
                "kind": KIND_OF_CATEGORY[category],
                "source": source,
                "status": status,
                "lon": g.lon + dlon,
                "lat": g.lat,
                "s": g.street_id,
                "c": g.community_id,
                "g": g.grid_id if in_grid else None,
                "d": g.district_code,
                "rep": NOW + reported,
                "due": None if due is None else NOW + due,
                "level": "community" if escalated else ("grid" if in_grid else "street"),
                "esc": NOW - timedelta(minutes=5) if escalated else None,
            },
        ).scalar_one()
    )


@pytest.fixture
def cases(db_session: Session) -> dict[str, Any]:
    g, h = grid_point(db_session, 30), grid_point(db_session, 31)
    ids = {
        "late2h": _insert(db_session, g, "QT0001", due=timedelta(hours=-2)),
        "late1h": _insert(db_session, g, "QT0002", due=timedelta(hours=-1), source="hotline"),
        "due3h": _insert(db_session, g, "QT0003", due=timedelta(hours=3), category="公用设施"),
        "due1h": _insert(db_session, h, "QT0004", due=timedelta(hours=1), status="dispatched"),
        "nodue": _insert(db_session, h, "QT0005", due=None, status="handled"),
        # A running stage without a deadline is not overdue (and must not sort as if it were).
        "nodue_late": _insert(db_session, h, "QT0009", due=None, status="registered"),
        "closed": _insert(db_session, g, "QT0006", status="closed"),
        "outside": _insert(db_session, g, "QT0007", in_grid=False, due=timedelta(hours=5)),
        "escalated": _insert(db_session, h, "QT0008", escalated=True, due=timedelta(hours=-3)),
    }
    return {"g": g, "h": h, "ids": ids}


def _codes(body: dict[str, Any]) -> list[str]:
    return [item["code"] for item in body["items"]]


def test_deadline_order_overdue_first_with_counts_and_facets(
    client_for: ClientFor, cases: dict[str, Any]
) -> None:
    response = client_for(ADMIN).get("/api/v1/incidents/queue", params={"code": "QT"})
    assert response.status_code == 200, response.text
    body = response.json()
    # Overdue first, the longest overdue on top; then the nearest deadline; no deadline last.
    # The closed case is not in the default (open) queue.
    assert _codes(body) == [
        "QT0008",
        "QT0001",
        "QT0002",
        "QT0004",
        "QT0003",
        "QT0007",
        "QT0005",
        "QT0009",
    ]
    assert body["total"] == 8
    assert body["counts"] == {"all": 8, "overdue": 3, "unassigned": 1, "escalated": 1}
    assert body["facets"]["category"] == {"市容环境": 7, "公用设施": 1}
    assert body["facets"]["source"] == {"patrol": 7, "hotline": 1}
    assert body["facets"]["status"] == {"registered": 6, "dispatched": 1, "handled": 1}
    first = body["items"][0]
    # The contract the page reads: exactly these fields, no personal data.
    assert set(first) == set(QUEUE_FIELDS)
    assert first["overdue"] is True and first["escalated"] is True
    assert first["grid_code"] == cases["h"].grid_code
    outside = next(i for i in body["items"] if i["code"] == "QT0007")
    assert outside["unassigned"] is True and outside["grid_code"] is None


def test_pages_partition_the_queue(client_for: ClientFor, cases: dict[str, Any]) -> None:
    client = client_for(ADMIN)
    seen: list[str] = []
    for offset in (0, 3, 6):
        body = client.get(
            "/api/v1/incidents/queue", params={"code": "QT", "limit": 3, "offset": offset}
        ).json()
        assert body["total"] == 8 and body["limit"] == 3 and body["offset"] == offset
        seen += _codes(body)
    assert seen == ["QT0008", "QT0001", "QT0002", "QT0004", "QT0003", "QT0007", "QT0005", "QT0009"]
    # limit=0: the counts and facets alone (the KPI panel's breakdowns).
    empty = client.get("/api/v1/incidents/queue", params={"code": "QT", "limit": 0}).json()
    assert empty["items"] == [] and empty["total"] == 8 and empty["counts"]["overdue"] == 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "公用设施"}, ["QT0003"]),
        ({"source": "hotline"}, ["QT0002"]),
        ({"overdue": "true"}, ["QT0008", "QT0001", "QT0002"]),
        ({"overdue": "false"}, ["QT0004", "QT0003", "QT0007", "QT0005", "QT0009"]),
        ({"tray": "unassigned"}, ["QT0007"]),
        ({"tray": "escalated"}, ["QT0008"]),
        ({"status": "closed"}, ["QT0006"]),
        ({"status": "dispatched,handled"}, ["QT0004", "QT0005"]),
        ({"code": "qt0003"}, ["QT0003"]),
        ({"sort": "reported", "status": "dispatched,handled"}, ["QT0005", "QT0004"]),
    ],
)
def test_filters(
    client_for: ClientFor, cases: dict[str, Any], params: dict[str, str], expected: list[str]
) -> None:
    query = {"code": "QT", **params}
    body = client_for(ADMIN).get("/api/v1/incidents/queue", params=query).json()
    if params.get("sort") == "reported":
        # Same reported_at: the newer id first.
        assert _codes(body) == expected
    else:
        assert _codes(body) == expected, body


def test_within_and_time_range(client_for: ClientFor, cases: dict[str, Any]) -> None:
    client = client_for(ADMIN)
    h = cases["h"]
    body = client.get("/api/v1/incidents/queue", params={"code": "QT", "within": h.grid_code})
    assert _codes(body.json()) == ["QT0008", "QT0004", "QT0005", "QT0009"]
    street = client.get(
        "/api/v1/incidents/queue", params={"code": "QT", "within": cases["g"].street_code}
    ).json()
    # The street's subtree includes the case outside every grid but inside the street.
    assert "QT0007" in _codes(street)
    later = client.get(
        "/api/v1/incidents/queue",
        params={"code": "QT", "start": (NOW - timedelta(hours=1)).isoformat()},
    ).json()
    assert later["total"] == 0


def test_scope_and_access(client_for: ClientFor, cases: dict[str, Any]) -> None:
    g = cases["g"]
    chief = viewer("grid_chief", g.grid_code)
    body = client_for(chief).get("/api/v1/incidents/queue", params={"code": "QT"}).json()
    # Only his grid's cases; the case outside every grid belongs to the street, not to him.
    assert _codes(body) == ["QT0001", "QT0002", "QT0003"]
    public = client_for(ANONYMOUS).get("/api/v1/incidents/queue")
    assert public.status_code == 403
    assert public.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "open"}, "status"),
        ({"category": "火星"}, "category"),
        ({"source": "pigeon"}, "source"),
        ({"tray": "all"}, "tray"),
        ({"sort": "random"}, "sort"),
        ({"within": "12ab"}, "within"),
        ({"start": "2026-01-01T00:00:00"}, "start"),
    ],
)
def test_bad_input_is_a_clear_400(
    client_for: ClientFor, params: dict[str, str], parameter: str
) -> None:
    response = client_for(ADMIN).get("/api/v1/incidents/queue", params=params)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert parameter in response.text


def test_duplicate_candidates(
    client_for: ClientFor, db_session: Session, cases: dict[str, Any]
) -> None:
    g = cases["g"]
    target = _insert(db_session, g, "QT0100")
    near = _insert(db_session, g, "QT0101", dlon=0.0002)  # about 18 m east
    _insert(db_session, g, "QT0102", dlon=0.002)  # about 180 m: too far
    _insert(db_session, g, "QT0103", dlon=0.0001, category="公用设施")  # another category
    _insert(db_session, g, "QT0104", dlon=0.0001, reported=timedelta(days=-3))  # too old
    _insert(db_session, g, "QT0105", dlon=0.0001, status="closed")  # not open
    body = client_for(ADMIN).get(f"/api/v1/incidents/{target}/duplicate-candidates").json()
    candidates = [c for c in body["items"] if c["code"].startswith("QT01")]
    assert [c["id"] for c in candidates] == [near]
    assert 10 < candidates[0]["distance_m"] < 30
    assert body["radius_m"] == 50.0 and body["window_hours"] == 24.0
    # Out of scope: another grid's chief may not look.
    other = viewer("grid_chief", cases["h"].grid_code)
    assert (
        client_for(other).get(f"/api/v1/incidents/{target}/duplicate-candidates").status_code == 403
    )
    assert client_for(ADMIN).get("/api/v1/incidents/0/duplicate-candidates").status_code == 404
