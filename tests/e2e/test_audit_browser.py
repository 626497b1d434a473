"""The admins' audit page in headless Chromium: who saw this person's data, when and why.

A grid chief reads a household unmasked through the API (stating a purpose); an admin then signs
in on the page, searches one of its residents by ID number and sees the chief's read with its
purpose. Runs against a database and live server of its own: audit rows are append-only and
must not pile up in the shared demo database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.settings import normalise_database_url
from tests.conftest import (
    LiveServer,
    create_test_database,
    drop_test_database,
    owner_url,
)
from tests.e2e.browser_helpers import chromium

PASSWORD = "audit-e2e-Password-1"
PURPOSE = "入户走访核实"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def audit_server(server_url: str) -> Iterator[tuple[LiveServer, str, str]]:
    from data.demo import load_demo

    url = create_test_database(server_url, "audit_e2e")
    with psycopg.connect(owner_url(url)) as conn:  # as `gridgov demo` loads it
        load_demo(conn, households=2_000)
        conn.commit()
        grid = conn.execute(
            "SELECT g.code FROM area g JOIN building b ON b.grid_id = g.id"
            " JOIN household h ON h.building_id = b.id"
            " WHERE g.level = 'grid' AND g.valid_to IS NULL ORDER BY g.code LIMIT 1"
        ).fetchone()
    assert grid is not None
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    with Session(engine) as session:
        create_user(session, "audit_admin", PASSWORD, "admin", grid[0][:6])
        create_user(session, "audit_chief", PASSWORD, "grid_chief", grid[0])
        session.commit()
    server = LiveServer(url)
    yield server, url, grid[0]
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_an_admin_finds_who_read_a_resident(
    audit_server: tuple[LiveServer, str, str], browser: Any
) -> None:
    server, url, grid = audit_server
    with psycopg.connect(url) as conn:
        household, id_number, name = conn.execute(
            "SELECT h.code, r.id_number, r.name FROM household h"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " JOIN resident r ON r.household_id = h.id"
            " WHERE g.code = %s AND r.id_number IS NOT NULL ORDER BY h.code, r.id LIMIT 1",
            (grid,),
        ).fetchone()

    # The prior read: the grid chief opens the household with a purpose.
    token = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": "audit_chief", "password": PASSWORD},
    ).json()["access_token"]
    read = httpx.get(
        f"{server.url}/api/v1/households/{household}",
        headers={"Authorization": f"Bearer {token}"},
        params={"purpose": PURPOSE},
    )
    assert read.status_code == 200, read.text
    assert name in [r["name"] for r in read.json()["residents"]]

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/admin/audit")
    # Not signed in: the page sends the visitor to sign in and back.
    page.wait_for_url("**/login?next=*")
    page.fill("#username", "audit_admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/audit")
    assert page.locator("h1").inner_text() == "个人信息查阅记录"

    page.fill("#gg-audit-subject", id_number)
    page.click("#gg-audit-form button")
    page.wait_for_selector("#gg-audit-table tbody tr")
    rows = [
        [cell.inner_text() for cell in row.locator("td").all()]
        for row in page.locator("#gg-audit-table tbody tr").all()
    ]
    assert any(
        "audit_chief" in row and PURPOSE in row and f"household:{household}" in row for row in rows
    ), rows
    assert errors == []
    context.close()

    with psycopg.connect(url) as conn:
        asked = conn.execute(
            "SELECT count(*) FROM audit_log WHERE username = 'audit_admin'"
            " AND action = 'audit.query' AND target = %s",
            (f"subject:{id_number}",),
        ).fetchone()
    assert asked == (1,)


def test_the_audit_api_is_for_admins_only(audit_server: tuple[LiveServer, str, str]) -> None:
    server, _, _ = audit_server
    token = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": "audit_chief", "password": PASSWORD},
    ).json()["access_token"]
    answer = httpx.get(
        f"{server.url}/api/v1/audit/disclosures",
        params={"subject": "resident:1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
