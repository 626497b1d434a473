"""Helpers shared by the incident, Open311 and service-order tests (a client per viewer)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, pool, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.security import get_viewer
from api.submitters import API_KEY_HEADER
from gis.accounts import create_api_client
from gis.db import get_session
from gis.scope import ANONYMOUS, Viewer
from gis.settings import normalise_database_url

ClientFor = Callable[[Viewer], TestClient]


@pytest.fixture
def client_for(db_session: Session) -> Iterator[ClientFor]:
    """``client_for(viewer)``: a TestClient on the rolled-back session acting as ``viewer``."""
    clients: list[TestClient] = []

    def make(viewer: Viewer = ANONYMOUS) -> TestClient:
        app = create_app()

        def _session() -> Iterator[Session]:
            yield db_session

        app.dependency_overrides[get_session] = _session
        app.dependency_overrides[get_viewer] = lambda: viewer
        client = TestClient(app)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def reporting_app(session: Session, client_for: ClientFor) -> TestClient:
    """A caller who is not signed in but holds an API client's key (a public reporting app):
    what public intake requires (api/submitters.py)."""
    _, key = create_api_client(session, f"reporting-app-{secrets.token_hex(4)}")
    client = client_for(ANONYMOUS)
    client.headers[API_KEY_HEADER] = key
    return client


def committed_reporting_key(database_url: str) -> str:
    """A new API client's key, committed to ``database_url``: for live-server tests that report
    as the public does (public intake needs a key or a sign-in, api/submitters.py)."""
    engine = create_engine(normalise_database_url(database_url), poolclass=pool.NullPool)
    try:
        with Session(engine) as session:
            _, key = create_api_client(session, f"reporting-app-{secrets.token_hex(4)}")
            session.commit()
    finally:
        engine.dispose()
    return key


def grid_point(session: Session, offset: int = 0) -> Any:
    """A point inside a current grid (its point on surface) and that grid's codes and ids."""
    return session.execute(
        text(
            """
            SELECT g.id AS grid_id, g.code AS grid_code, g.district_code,
                   ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat,
                   c.id AS community_id, c.code AS community_code,
                   s.id AS street_id, s.code AS street_code
            FROM area g
            JOIN area c ON c.level = 'community' AND c.valid_to IS NULL
                        AND c.code = left(g.code, 12)
            JOIN area s ON s.level = 'street' AND s.valid_to IS NULL
                        AND s.code = left(g.code, 9) || '000'
            WHERE g.level = 'grid' AND g.valid_to IS NULL
              AND EXISTS (SELECT 1 FROM grid_staff gs
                          WHERE gs.area_id = g.id AND gs.role = 'worker')
            ORDER BY g.code OFFSET :o LIMIT 1
            """
        ),
        {"o": offset},
    ).one()


def viewer(role: str, scope: str, name: str | None = None) -> Viewer:
    return Viewer(name or f"t_{role}", role, scope)


# The loop a case runs through to be closed, each status with who takes the step: the centre
# accepts, registers and dispatches, the grid handles, someone else verifies and closes
# (separation of duties: whoever handled a case may not verify or close it).
CLOSING_LOOP = (
    ("accepted", "centre"),
    ("registered", "centre"),
    ("dispatched", "centre"),
    ("in_progress", "handler"),
    ("handled", "handler"),
    ("verified", "verifier"),
    ("closed", "verifier"),
)


def work_case(session: Session, incident_id: int, until: str, district: str = "620881") -> None:
    """Take a case on from where it is, through the workflow, to the status ``until``."""
    from sqlalchemy import text

    from gis.incidents import transitions

    now = session.execute(
        text("SELECT status FROM incident WHERE id = :i"), {"i": incident_id}
    ).scalar_one()

    people = {
        "centre": viewer("admin", district, "t_centre"),
        "handler": viewer("admin", district, "t_handler"),
        "verifier": viewer("admin", district, "t_verifier"),
    }
    statuses = [status for status, _ in CLOSING_LOOP]
    start = statuses.index(now) + 1 if now in statuses else 0
    for status, who in CLOSING_LOOP[start : statuses.index(until) + 1]:
        transitions.transition(
            session, people[who], incident_id, transitions.TransitionInput(to=status)
        )
