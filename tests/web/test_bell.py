"""The notification bell is on every page of a signed-in user, in the page's language, and on
none for the public."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import SESSION_COOKIE
from gis.accounts import create_user
from gis.settings import get_settings
from tests.api.security_helpers import token_for
from web.bell import bell_strings

STRINGS = re.compile(r'id="gg-bell"[^>]*data-strings="([^"]*)"')


def _bell(page: str) -> dict[str, str] | None:
    found = STRINGS.search(page)
    return None if found is None else json.loads(html.unescape(found.group(1)))


def _pages(grid: str) -> list[str]:
    return [
        "/",
        f"/grid/{grid}",
        "/command",
        "/plan",
        "/admin/audit",
        "/party/org-life",
        "/residents",
    ]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_of_a_signed_in_user_has_the_bell(
    page_client: TestClient, db_session: Session, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setenv("GRIDGOV_LANGUAGE", lang)
    get_settings.cache_clear()
    grid = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    create_user(db_session, "bell_admin", "bell-page-Password-9", "admin", grid[:6])
    page_client.cookies.set(
        SESSION_COOKIE, token_for(db_session, "bell_admin", minutes=5, kind="cookie")
    )
    try:
        for path in _pages(grid):
            page = page_client.get(path)
            assert page.status_code == 200, path
            assert _bell(page.text) == bell_strings(lang), path
            assert "/static/gridgov/bell.js?v=" in page.text, path
    finally:
        page_client.cookies.clear()
    assert (
        bell_strings("zh-CN")["title"] == "通知" and bell_strings("en")["title"] == "Notifications"
    )


def test_the_public_gets_no_bell(page_client: TestClient, db_session: Session) -> None:
    grid = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    for path in ["/", f"/grid/{grid}", "/command", "/plan"]:
        page = page_client.get(path)
        assert page.status_code == 200, path
        assert _bell(page.text) is None and "bell.js" not in page.text, path
