"""The residents' pages: Chinese first (English by setting), the board public and without group
notices, the resident's page only with a valid link, the staff desk only for staff."""

from __future__ import annotations

import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import SESSION_COOKIE
from gis.residents import links
from gis.settings import get_settings
from tests.api.security_helpers import add_account, demo_areas, token_for


def _sign_in(client: TestClient, session: Session, username: str, role: str) -> None:
    add_account(session, username, role, demo_areas(session).community)
    client.cookies.set(SESSION_COOKIE, token_for(session, username, minutes=5, kind="cookie"))


@pytest.mark.parametrize(
    ("lang", "title", "section"),
    [("zh-CN", "居民服务", "重点人群关爱走访"), ("en", "Resident services", "Care visits")],
)
def test_the_staff_desk_in_the_chosen_language(
    page_client: TestClient,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
    title: str,
    section: str,
) -> None:
    monkeypatch.setenv("GRIDGOV_LANGUAGE", lang)
    get_settings.cache_clear()
    _sign_in(page_client, db_session, "desk_sec", "community_secretary")
    page = page_client.get("/residents")
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in page.text and section in page.text
    assert 'id="gg-publish"' in page.text  # a secretary publishes


def test_the_desk_sends_the_public_to_sign_in_and_refuses_other_roles(
    page_client: TestClient, db_session: Session
) -> None:
    page = page_client.get("/residents", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    _sign_in(page_client, db_session, "desk_planner", "planner")
    refused = page_client.get("/residents")
    assert refused.status_code == 403 and "无权" in refused.text


def test_the_board_shows_area_notices_but_never_group_notices(
    page_client: TestClient, db_session: Session
) -> None:
    community = demo_areas(db_session).community
    rows = dict(
        db_session.execute(
            text(
                "SELECT special_group IS NULL, title FROM notice WHERE area_code = :c"
                " ORDER BY special_group NULLS FIRST"
            ),
            {"c": community},
        ).all()
    )
    page = page_client.get(f"/communities/{community}/notice-board")
    assert page.status_code == 200 and "社区公告栏" in page.text
    assert rows[True] in page.text and rows[False] not in page.text
    assert page_client.get("/communities/999999999999/notice-board").status_code == 404


def test_the_residents_page_opens_with_his_link_only(
    page_client: TestClient, db_session: Session
) -> None:
    resident = db_session.execute(text("SELECT min(id) FROM resident")).scalar_one()
    token = links.token(resident, datetime.datetime.now(datetime.UTC))
    page = page_client.get(f"/r/{token}")
    assert page.status_code == 200 and "我的社区服务" in page.text
    assert 'id="gg-apply"' in page.text and "居住证明开具" in page.text
    assert page_client.get(f"/r/{token[:-1]}x").status_code == 404
    old = links.token(resident, datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert page_client.get(f"/r/{old}").status_code == 403
