"""/party/members: the register's page is for party work only (web.role_page's answer)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.security import SESSION_COOKIE
from tests.api.security_helpers import add_account, demo_areas, token_for


def _sign_in(client: TestClient, session: Session, username: str, role: str) -> None:
    add_account(session, username, role, demo_areas(session).community)
    client.cookies.set(SESSION_COOKIE, token_for(session, username, minutes=5, kind="cookie"))


def test_the_public_signs_in_first_other_roles_are_refused_party_work_gets_the_register(
    page_client: TestClient, db_session: Session
) -> None:
    page = page_client.get("/party/members", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fparty%2Fmembers"
    _sign_in(page_client, db_session, "mp_worker", "grid_worker")
    refused = page_client.get("/party/members")
    assert refused.status_code == 403 and "没有党员管理权限" in refused.text
    assert refused.headers["cache-control"] == "no-store"
    _sign_in(page_client, db_session, "mp_sec", "community_secretary")
    page = page_client.get("/party/members")
    assert page.status_code == 200 and "<title>党员管理" in page.text
    assert 'id="gg-bell"' in page.text  # the viewer's bell: never cached
    assert page.headers["cache-control"] == "no-store"
