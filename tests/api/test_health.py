from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.migrate import script_heads


def test_health_reports_database_versions_and_schema(
    client: TestClient, db_session: Session
) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    postgis = db_session.execute(
        text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one()
    assert body["database"] is True
    assert body["postgis"] == postgis
    assert body["postgres"] == db_session.execute(text("SHOW server_version")).scalar_one()
    assert set(body["schema_revision"].split(",")) == script_heads()
    assert body["status"] == "ok"


def test_unknown_api_path_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
