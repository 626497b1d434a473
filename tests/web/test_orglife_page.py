"""/party/org-life: Chinese first (English by setting), rules from the server, party work only."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.security import SESSION_COOKIE
from gis.orglife import rules
from gis.settings import get_settings
from tests.api.security_helpers import add_account, demo_areas, token_for

DATA = re.compile(r'<script type="application/json" id="gg-orglife-data">(.*?)</script>', re.S)


def _sign_in(client: TestClient, session: Session, username: str, role: str) -> None:
    add_account(session, username, role, demo_areas(session).community)
    client.cookies.set(SESSION_COOKIE, token_for(session, username, minutes=5, kind="cookie"))


@pytest.mark.parametrize(
    ("lang", "title", "kind"),
    [
        ("zh-CN", "组织生活", "支部党员大会"),
        ("en", "Organisational life", "Branch general meeting"),
    ],
)
def test_a_secretary_gets_the_page_with_the_rules_in_his_language(
    page_client: TestClient,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    title: str,
    kind: str,
) -> None:
    monkeypatch.setenv("GRIDGOV_LANGUAGE", lang)
    get_settings.cache_clear()
    _sign_in(page_client, db_session, "olp_sec", "community_secretary")
    page = page_client.get("/party/org-life")
    assert page.status_code == 200 and title in page.text
    found = DATA.search(page.text)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["rules"] == rules.for_pages(lang)
    assert data["rules"]["kinds"][0]["label"] == kind
    assert data["quarters"][0] == str(rules.Quarter.of(datetime.date.fromisoformat(data["today"])))
    assert data["strings"]["saved"]


def test_the_public_is_sent_to_sign_in_and_other_roles_are_refused(
    page_client: TestClient, db_session: Session
) -> None:
    page = page_client.get("/party/org-life", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    _sign_in(page_client, db_session, "olp_worker", "grid_worker")
    refused = page_client.get("/party/org-life")
    assert refused.status_code == 403 and "党务" in refused.text
