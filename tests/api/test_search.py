"""GET /api/v1/search: Chinese substring search across public layers, ranked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session


def test_substring_matches_all_layers_counted_independently(
    client: TestClient, db_session: Session
):
    q = "东大街"
    expected = db_session.execute(
        text(
            """
            SELECT (SELECT count(*) FROM area WHERE valid_to IS NULL AND strpos(name, :q) > 0)
                 + (SELECT count(*) FROM building WHERE valid_to IS NULL
                     AND strpos(name || ' ' || address, :q) > 0)
                 + (SELECT count(*) FROM party_org WHERE level <> 'household'
                     AND strpos(name, :q) > 0)
                 + (SELECT count(*) FROM service_facility
                     WHERE strpos(name || ' ' || address, :q) > 0)
            """
        ),
        {"q": q},
    ).scalar_one()
    body = client.get("/api/v1/search", params={"q": q, "limit": 100}).json()
    assert body["total"] == expected > 0
    assert all(q in (item["name"] + " " + (item["address"] or "")) for item in body["items"])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert {item["type"] for item in body["items"]} >= {"area", "building"}


def test_exact_code_ranks_first(client: TestClient, db_session: Session):
    code = db_session.execute(
        text("SELECT code FROM area WHERE level = 'community' ORDER BY code LIMIT 1")
    ).scalar_one()
    body = client.get("/api/v1/search", params={"q": code}).json()
    assert body["items"][0]["code"] == code
    assert body["items"][0]["exact_code"] is True
    # The grids under it follow as code-prefix matches.
    grids = db_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'grid' AND code LIKE :p"),
        {"p": code + "%"},
    ).scalar_one()
    assert body["total"] == 1 + grids


def test_household_party_orgs_are_not_searchable(client: TestClient):
    body = client.get("/api/v1/search", params={"q": "党员中心户", "limit": 100}).json()
    assert all(item["subtype"] != "党员中心户" for item in body["items"])


def test_wildcards_are_literal(client: TestClient):
    body = client.get("/api/v1/search", params={"q": "%"}).json()
    assert body["total"] == 0


def test_bad_queries(client: TestClient):
    response = client.get("/api/v1/search", params={"q": "   "})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == "q"
    assert client.get("/api/v1/search").status_code == 422
    assert client.get("/api/v1/search", params={"q": "a", "limit": 0}).status_code == 422
