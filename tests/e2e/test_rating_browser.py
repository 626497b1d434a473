"""The reporter rates his case in headless Chromium, from the link intake gave him (一事一评).

Runs against its own committed database and live server (it rates a case, so it must not touch
the shared demo database). The case is reported over HTTP with an API client's key — the link
is signed by the server's own secret — and closed by staff; the reporter then opens the link on
a phone-sized screen, chooses the stars, types a comment and submits. The database is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from gis.settings import normalise_database_url
from tests.api.incident_helpers import committed_reporting_key, work_case
from tests.conftest import (
    LiveServer,
    create_test_database,
    drop_test_database,
    owner_url,
)
from tests.e2e.browser_helpers import chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def city(server_url: str) -> Iterator[tuple[LiveServer, str, Any]]:
    from data.demo import load_demo

    url = create_test_database(server_url, "rating_e2e")
    with psycopg.connect(owner_url(url)) as conn:
        load_demo(conn, households=1_000)
        conn.commit()
    engine = create_engine(normalise_database_url(url), poolclass=pool.NullPool)
    server = LiveServer(url)
    yield server, url, engine
    server.stop()
    engine.dispose()
    drop_test_database(server_url, url)


def test_the_reporter_rates_his_closed_case_on_his_phone(
    city: tuple[LiveServer, str, Any],
) -> None:
    server, url, engine = city
    key = committed_reporting_key(url)
    with psycopg.connect(url) as conn:
        ((lon, lat),) = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) x"
        ).fetchall()
    created = httpx.post(
        f"{server.url}/api/v1/incidents",
        headers={"X-API-Key": key},
        json={
            "category": "园林绿化设施",
            "description": "小区绿地树木倒伏",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "reporter_name": "赵六",
            "reporter_phone": "13600002222",
        },
    )
    assert created.status_code == 201, created.text
    incident_id = created.json()["incident"]["id"]
    code = created.json()["incident"]["code"]
    link = server.url + created.json()["rating_link"]
    with Session(engine) as session:
        work_case(session, incident_id, "closed")
        session.commit()

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(link)
            assert page.get_attribute(".gg-case", "data-code") == code
            assert page.get_attribute(".gg-case", "data-status") == "closed"
            assert "您对这次办理满意吗" in page.inner_text(".gg-rate-form h2")
            # The stars are big enough to tap, and the page fits the phone's width.
            star = page.locator("label[for='gg-star-4']").bounding_box()
            assert star and star["width"] >= 32 and star["height"] >= 32
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
            page.click("label[for='gg-star-4']")
            page.fill("#gg-comment", "处理及时，树已扶正")
            page.click(".gg-rate-form button[type=submit]")
            page.wait_for_selector(".gg-your-rating[data-rating='4']", timeout=20_000)
            assert "感谢您的评价" in page.inner_text(".gg-ok")
            assert page.get_attribute(".gg-case", "data-status") == "evaluated"
            assert errors == [], errors
        finally:
            context.close()
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT status, rating FROM incident WHERE id = %s", (incident_id,)
        ).fetchall() == [("evaluated", 4)]
        assert conn.execute(
            "SELECT actor, from_status, note FROM incident_transition"
            " WHERE incident_id = %s AND to_status = 'evaluated'",
            (incident_id,),
        ).fetchall() == [("reporter:signed-link", "closed", "处理及时，树已扶正")]
    # A second visit offers no form: rated once.
    again = httpx.get(link)
    assert again.status_code == 200 and "gg-rate-form" not in again.text
