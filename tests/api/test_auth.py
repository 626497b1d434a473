"""Sign-in: tokens, the session cookie, lock-out, rejected credentials, headers, rate limits.

Also the fixes of issue 14 (findings 3, 4 and 6): lock-outs that never end a live session and
cost the same on every path, revocable tokens with refresh, the password policy, credentials
validated before the rate limiter trusts them, ``Cache-Control: no-store``, versions and API docs
hidden from those who need not see them, and the production refusals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.security import SESSION_COOKIE, create_token, decode_token
from gis.accounts import get_account, set_active
from gis.db import get_session
from gis.settings import get_settings
from tests.api.security_helpers import (
    PASSWORD,
    add_account,
    demo_areas,
    password_hash,
    token_for,
)


def _app(db_session: Session) -> FastAPI:
    """A new app (reading the environment now) whose requests use the test's session."""
    app = create_app()

    def _session() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    return app


def _app_client(db_session: Session) -> TestClient:
    return TestClient(_app(db_session))


@pytest.fixture
def chief(db_session: Session) -> str:
    areas = demo_areas(db_session)
    add_account(db_session, "li_chief", "grid_chief", areas.grid)
    db_session.commit()  # into the test's outer transaction, safe from request rollbacks
    return "li_chief"


def _sign_in(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _user_row(session: Session, username: str) -> tuple[int, datetime | None, bool]:
    row = session.execute(
        text("SELECT failed_logins, locked_until, is_active FROM app_user WHERE username = :u"),
        {"u": username},
    ).one()
    return row.failed_logins, row.locked_until, row.is_active


def test_password_flow_issues_a_short_lived_token_for_the_account(
    client: TestClient, db_session: Session, chief: str
) -> None:
    response = client.post("/api/v1/auth/token", data={"username": chief, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = decode_token(body["access_token"])
    scope = db_session.execute(
        text("SELECT scope_code FROM app_user WHERE username = :u"), {"u": chief}
    ).scalar_one()
    assert claims["sub"] == chief and claims["scope"] == scope
    # Short-lived access (15 min), renewed with the refresh token until the session (8 h) ends.
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 15 * 60
    assert 8 * 3600 - 5 <= body["refresh_expires_in"] <= 8 * 3600
    row = db_session.execute(
        text(
            "SELECT kind, client, expires_at - created_at AS life FROM auth_session WHERE id = :i"
        ),
        {"i": claims["sid"]},
    ).one()
    assert (row.kind, row.client, row.life) == ("api", "testclient", timedelta(hours=8))
    assert body["refresh_token"].startswith(claims["sid"] + ".")

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    area_name = db_session.execute(
        text("SELECT name FROM area WHERE code = :c AND valid_to IS NULL"), {"c": scope}
    ).scalar_one()
    assert me.json() == {
        "username": chief,
        "role": "grid_chief",
        "scope_code": scope,
        "scope_name": area_name,
        "may_unmask": True,
    }
    audit = db_session.execute(
        text("SELECT action, role, scope_code FROM audit_log WHERE username = :u"), {"u": chief}
    ).all()
    assert [tuple(r) for r in audit] == [("auth.sign_in", "grid_chief", scope)]


def test_wrong_password_is_401_problem_and_counts_towards_lockout(
    client: TestClient, db_session: Session, chief: str
) -> None:
    response = client.post("/api/v1/auth/token", data={"username": chief, "password": "nope-nope"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert _user_row(db_session, chief)[0] == 1
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x" * 9})
    # Unknown users get exactly the same answer: usernames cannot be probed.
    assert unknown.status_code == 401 and unknown.json() == response.json()
    failed = (
        db_session.execute(
            text("SELECT username FROM audit_log WHERE action = 'auth.sign_in_failed' ORDER BY id")
        )
        .scalars()
        .all()
    )
    assert failed == [chief, "nobody"]


def test_repeated_failures_lock_the_account_with_growing_delays(
    client: TestClient, db_session: Session, chief: str
) -> None:
    delays = []
    for _ in range(4):
        before = datetime.now(UTC)
        db_session.execute(
            text("UPDATE app_user SET locked_until = NULL WHERE username = :u"), {"u": chief}
        )
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": chief, "password": "wrong-pass"}
            ).status_code
            == 401
        )
        _, locked_until, _ = _user_row(db_session, chief)
        delays.append(None if locked_until is None else (locked_until - before).total_seconds())
    assert delays[0] is None and delays[1] is None  # two free mistakes
    assert delays[2] is not None and 4 <= delays[2] <= 6
    assert delays[3] is not None and 9 <= delays[3] <= 11
    # While locked even the right password fails, and does not reset the counter.
    locked = client.post("/api/v1/auth/token", data={"username": chief, "password": PASSWORD})
    assert locked.status_code == 401
    assert _user_row(db_session, chief)[0] == 4
    # Once the lock has passed the right password works and clears the counter.
    db_session.execute(
        text("UPDATE app_user SET locked_until = now() - interval '1 second' WHERE username = :u"),
        {"u": chief},
    )
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": chief, "password": PASSWORD}
        ).status_code
        == 200
    )
    assert _user_row(db_session, chief)[:2] == (0, None)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
def test_malformed_credentials_are_401_with_www_authenticate(
    client: TestClient, authorization: str
) -> None:
    response = client.get("/api/v1/households", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "sign in" in response.json()["detail"] or "Bearer" in response.json()["detail"]


def test_forged_expired_and_stale_tokens_are_rejected(
    client: TestClient, db_session: Session, chief: str
) -> None:
    account = get_account(db_session, chief)
    assert account is not None
    good = token_for(db_session, chief, minutes=5)
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-of-enough-length-1234567", algorithm="HS256")
    expired = create_token(account, timedelta(seconds=-1), claims["sid"])
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = (
        base64.urlsafe_b64encode(
            json.dumps({**claims, "role": "admin", "scope": "620881"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    unsigned = f"{header}.{payload}."
    headers = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    assert client.get("/api/v1/auth/me", headers=headers(good)).status_code == 200
    for token in (forged, expired, unsigned):
        assert client.get("/api/v1/auth/me", headers=headers(token)).status_code == 401
    # A new password ends the sessions made with the old one.
    db_session.execute(
        text("UPDATE app_user SET password_hash = password_hash || 'x' WHERE username = :u"),
        {"u": chief},
    )
    assert client.get("/api/v1/auth/me", headers=headers(good)).status_code == 401


def test_disabled_accounts_lose_their_tokens_at_once_but_locked_ones_keep_them(
    client: TestClient, db_session: Session, chief: str
) -> None:
    token = token_for(db_session, chief)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/households", headers=headers).status_code == 200
    # A lock-out holds back new sign-ins only: whoever is signed in keeps working.
    db_session.execute(
        text("UPDATE app_user SET locked_until = now() + interval '1 hour' WHERE username = :u"),
        {"u": chief},
    )
    assert client.get("/api/v1/households", headers=headers).status_code == 200
    set_active(db_session, chief, False)
    assert client.get("/api/v1/households", headers=headers).status_code == 401
    # Disabling revoked the session: enabling the account again does not revive the token.
    set_active(db_session, chief, True)
    assert client.get("/api/v1/households", headers=headers).status_code == 401
    revoked = db_session.execute(
        text(
            "SELECT revoked_reason FROM auth_session s JOIN app_user u ON u.id = s.user_id"
            " WHERE u.username = :u"
        ),
        {"u": chief},
    ).scalars()
    assert list(revoked) == ["account disabled"]


def test_me_requires_sign_in(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_sign_in_page_sets_an_httponly_lax_cookie_that_signs_in_the_maps(
    client: TestClient, chief: str
) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "用户名" in page.text and "密码" in page.text
    response = client.post(
        "/login",
        data={"username": chief, "password": PASSWORD, "next": "/command"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/command"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    me = client.get("/api/v1/auth/me")  # the client keeps the cookie
    assert me.status_code == 200 and me.json()["username"] == chief
    out = client.get("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert (
        f'{SESSION_COOKIE}="";' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_sign_in_page_failure_and_no_open_redirect(
    client: TestClient, chief: str, db_session: Session
) -> None:
    failed = client.post("/login", data={"username": chief, "password": "bad-password"})
    assert failed.status_code == 401
    assert "用户名或密码错误" in failed.text
    assert "set-cookie" not in failed.headers
    own_grid = f"/grid/{demo_areas(db_session).grid}"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"username": chief, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        # Never elsewhere: an unusable destination lands the account on its own place.
        assert response.headers["location"] == own_grid


def test_sign_in_without_destination_lands_each_role_on_its_own_place(
    client: TestClient, db_session: Session
) -> None:
    areas = demo_areas(db_session)
    expected = {
        "grid_chief": (areas.grid, f"/grid/{areas.grid}"),
        "grid_worker": (areas.grid, f"/grid/{areas.grid}"),
        "community_secretary": (areas.community, f"/?area={areas.community}"),
        "street_secretary": (areas.street, f"/?area={areas.street}"),
        "command_operator": (areas.district, "/command"),
        "planner": (areas.district, "/plan"),
    }
    for role, (scope, _) in expected.items():
        add_account(db_session, f"home_{role}", role, scope)
    db_session.commit()
    for role, (_, place) in expected.items():
        client.cookies.clear()
        response = client.post(
            "/login",
            data={"username": f"home_{role}", "password": PASSWORD},
            follow_redirects=False,
        )
        assert (role, response.status_code, response.headers["location"]) == (role, 303, place)
        # "我的网格 / 我的辖区" is one tap away on the map pages, pointing at the same place.
        page = client.get(f"/grid/{areas.grid}")
        label = "我的网格" if place.startswith("/grid/") else "我的辖区"
        assert f'<a class="gg-home" href="{place.replace("&", "&amp;")}">{label}</a>' in page.text
    # The secretary's place is the city map zoomed to the area, its panel on that area.
    client.cookies.clear()
    client.post("/login", data={"username": "home_community_secretary", "password": PASSWORD})
    city = client.get(f"/?area={areas.community}")
    assert city.status_code == 200 and f'"focus": {{"code": "{areas.community}"' in city.text


def test_a_stale_cookie_makes_the_visitor_anonymous(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "garbage")
    assert client.get("/api/v1/auth/me").status_code == 401  # anonymous, not an error page
    assert client.get("/login").status_code == 200


def test_cross_site_posts_with_the_session_cookie_are_refused(
    client: TestClient, chief: str
) -> None:
    client.cookies.set(SESSION_COOKIE, "anything")
    response = client.post(
        "/logout", headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert response.status_code == 403
    same = client.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303


def test_security_headers_on_api_and_pages(client: TestClient) -> None:
    api = client.get("/api/v1/health")
    page = client.get("/login")
    for response in (api, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src is not None and "unsafe-inline" not in script_src.group(1)
        assert "*" not in csp.replace("'", "")


def test_csp_allows_exactly_the_inline_scripts_of_a_map_page(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page.text, re.S)
    expected = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
        if s.strip()
    }
    csp = page.headers["content-security-policy"]
    script_src = set(re.search(r"script-src ([^;]*)", csp).group(1).split())  # type: ignore[union-attr]
    assert script_src == {"'self'", *expected}


def test_csp_names_the_configured_basemap_hosts(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGOV_BASEMAP", "osm")
    get_settings.cache_clear()
    try:
        with _app_client(db_session) as client:
            csp = client.get("/api/v1/health").headers["content-security-policy"]
    finally:
        get_settings.cache_clear()
    img = re.search(r"img-src ([^;]*)", csp).group(1).split()  # type: ignore[union-attr]
    assert img == ["'self'", "data:", "blob:", "https://tile.openstreetmap.org"]


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.options(
        "/api/v1/health",
        headers={"Origin": "https://other.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    got = client.get("/api/v1/health", headers={"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in got.headers


def test_sign_in_is_rate_limited_per_client(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    monkeypatch.setenv("GRIDGOV_RATE_SIGN_IN_PER_MINUTE", "3")
    with _app_client(db_session) as client:
        statuses = [
            client.post(
                "/api/v1/auth/token", data={"username": "nobody", "password": "x" * 9}
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        limited = client.post("/api/v1/auth/token", data={"username": chief, "password": PASSWORD})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")


def test_anonymous_use_is_rate_limited_but_signed_in_use_is_not(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    monkeypatch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "5")
    with _app_client(db_session) as client:
        statuses = [client.get("/api/v1/health").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        headers = {"Authorization": f"Bearer {token_for(db_session, chief)}"}
        assert all(
            client.get("/api/v1/health", headers=headers).status_code == 200 for _ in range(8)
        )


def test_production_refuses_to_start_with_demo_accounts(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from api.security import UnsafeProductionSetup
    from gis.db import get_engine, get_sessionmaker
    from tests.conftest import create_test_database, drop_test_database

    url = create_test_database(server_url, "prodcheck")
    monkeypatch.setenv("GRIDGOV_ENVIRONMENT", "production")
    monkeypatch.setenv("GRIDGOV_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("GRIDGOV_DATABASE_URL", url)
    caches = (get_settings, get_engine, get_sessionmaker)
    try:
        for cache in caches:
            cache.cache_clear()
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO app_user (username, password_hash, role, scope_code, is_demo)"
                " VALUES ('demo_admin', 'x', 'admin', '620881', true)"
            )
        with pytest.raises(UnsafeProductionSetup, match="demo account"):
            create_app()
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM app_user WHERE is_demo")
        app = create_app()
        assert app.title == "gridgov"
        # In production the API map is for admins only; versions too.
        with get_sessionmaker()() as session:
            session.execute(
                text(
                    "INSERT INTO app_user (username, password_hash, role, scope_code)"
                    " VALUES ('ops_admin', :h, 'admin', '620881'),"
                    " ('ops_planner', :h, 'planner', '620881')"
                ),
                {"h": password_hash()},
            )
            admin = {"Authorization": f"Bearer {token_for(session, 'ops_admin')}"}
            planner = {"Authorization": f"Bearer {token_for(session, 'ops_planner')}"}
            session.commit()
        with TestClient(app) as client:
            for headers in ({}, planner):
                assert client.get("/docs", headers=headers).status_code == 404
                assert client.get("/openapi.json", headers=headers).status_code == 404
                assert client.get("/api/v1/health", headers=headers).json()["postgres"] is None
            assert client.get("/docs", headers=admin).status_code == 200
            document = client.get("/openapi.json", headers=admin)
            assert document.status_code == 200 and "/api/v1/auth/token" in document.json()["paths"]
            assert client.get("/api/v1/health", headers=admin).json()["postgres"]
    finally:
        get_engine().dispose()
        for cache in caches:
            cache.cache_clear()
        drop_test_database(server_url, url)


# --- issue 14: lock-out without denial of service ----------------------------------------------

OFFICE = ("10.1.2.3", 50000)
ATTACKER = ("203.0.113.9", 40000)


def _locked_until(session: Session, username: str) -> datetime | None:
    """When the account's lock ends, if it is locked now."""
    until: datetime | None = session.execute(
        text(
            "SELECT CASE WHEN locked_until > clock_timestamp() THEN locked_until END"
            " FROM app_user WHERE username = :u"
        ),
        {"u": username},
    ).scalar_one()
    return until


def _set_lock(session: Session, username: str, interval: str) -> None:
    session.execute(
        text(
            "UPDATE app_user SET locked_until = clock_timestamp() + CAST(:i AS interval)"
            " WHERE username = :u"
        ),
        {"i": interval, "u": username},
    )


def _clients(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, TestClient]:
    """One app, seen from the command centre's address and from an attacker's."""
    monkeypatch.setenv("GRIDGOV_RATE_SIGN_IN_PER_MINUTE", "1000")
    app = _app(db_session)
    return {
        "office": TestClient(app, client=OFFICE),
        "attacker": TestClient(app, client=ATTACKER),
    }


def test_wrong_passwords_never_end_a_live_session_nor_lock_out_the_real_user(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    clients = _clients(db_session, monkeypatch)
    office, attacker = clients["office"], clients["attacker"]
    # The command centre is signed in: a bearer token and a map-page cookie.
    signed_in = _sign_in(office, chief, PASSWORD)
    assert signed_in.status_code == 200
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    page = office.post(
        "/login", data={"username": chief, "password": PASSWORD}, follow_redirects=False
    )
    assert page.status_code == 303
    for expected in (None, None, 5, 10, 20, 40):  # two free mistakes, then a growing lock
        before = datetime.now(UTC)
        assert _sign_in(attacker, chief, "wrong-guess-1").status_code == 401
        after = datetime.now(UTC)
        until = _locked_until(db_session, chief)
        if expected is None:
            assert until is None
        else:
            assert until is not None
            assert until - after <= timedelta(seconds=expected) <= until - before
        _set_lock(db_session, chief, "-1 second")  # let it pass so the next guess is checked
    _set_lock(db_session, chief, "15 minutes")
    # The live sessions go on: token and cookie.
    assert office.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert office.get("/api/v1/households", headers=bearer).status_code == 200
    assert office.get("/api/v1/auth/me").json()["username"] == chief  # the cookie
    # The attacker cannot get in even with the right password while the account is locked...
    assert _sign_in(attacker, chief, PASSWORD).status_code == 401
    # ...but the real user signs in again from the address the account uses.
    assert _sign_in(office, chief, PASSWORD).status_code == 200
    assert _user_row(db_session, chief)[:2] == (0, None)


def test_an_address_guessing_many_usernames_is_held_back(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    clients = _clients(db_session, monkeypatch)
    office, attacker = clients["office"], clients["attacker"]
    for n in range(11):  # ten free failures over any usernames, then the address waits
        assert _sign_in(attacker, f"guess_{n}", "wrong-guess-1").status_code == 401
    throttle = db_session.execute(
        text(
            "SELECT failures, locked_until - clock_timestamp() AS wait FROM sign_in_throttle"
            " WHERE address = :a"
        ),
        {"a": ATTACKER[0]},
    ).one()
    assert throttle.failures == 11 and timedelta(seconds=30) < throttle.wait <= timedelta(minutes=1)
    held = _sign_in(attacker, chief, PASSWORD)
    assert held.status_code == 401
    # The account itself is not locked: its failure count did not move, and others sign in.
    assert _user_row(db_session, chief)[:2] == (0, None)
    assert _sign_in(office, chief, PASSWORD).status_code == 200


def test_every_failure_costs_exactly_one_password_hash_check(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    """Counting argon2 verifications instead of timing them: a locked account, a locked
    address, an unknown or malformed user and a wrong password all do the same work as a real
    check, and answer the same body, so neither timing nor message tells them apart."""
    from pwdlib.hashers.argon2 import Argon2Hasher

    calls: list[str] = []
    real_verify = Argon2Hasher.verify

    def counting_verify(self: Argon2Hasher, password: str | bytes, hash: str | bytes) -> bool:
        calls.append("verify")
        return real_verify(self, password, hash)

    monkeypatch.setattr(Argon2Hasher, "verify", counting_verify)
    clients = _clients(db_session, monkeypatch)
    office, attacker = clients["office"], clients["attacker"]
    add_account(db_session, "gone_user", "planner", demo_areas(db_session).district)
    set_active(db_session, "gone_user", False)

    def cost(client: TestClient, username: str, password: str) -> tuple[int, int, object]:
        before = len(calls)
        response = _sign_in(client, username, password)
        body = response.json()
        return response.status_code, len(calls) - before, body

    right = cost(office, chief, PASSWORD)
    assert right[:2] == (200, 1)
    failures = {
        "wrong password": cost(office, chief, "wrong-guess-1"),
        "unknown user": cost(office, "nobody_here", "wrong-guess-1"),
        "malformed user": cost(office, "x' OR 1=1", "wrong-guess-1"),
        "overlong password": cost(office, chief, "p" * 1000),
        "disabled account": cost(office, "gone_user", PASSWORD),
    }
    db_session.execute(
        text("UPDATE app_user SET locked_until = now() + interval '1 hour' WHERE username = :u"),
        {"u": chief},
    )
    failures["locked account"] = cost(attacker, chief, PASSWORD)
    db_session.execute(
        text(
            "INSERT INTO sign_in_throttle (address, failures, locked_until)"
            " VALUES (:a, 99, now() + interval '1 hour')"
        ),
        {"a": "testclient"},
    )
    failures["locked address"] = cost(TestClient(office.app), "nobody_here", "wrong-guess-1")
    bodies = {json.dumps(body, sort_keys=True) for _, _, body in failures.values()}
    assert {name: (status, n) for name, (status, n, _) in failures.items()} == dict.fromkeys(
        failures, (401, 1)
    )
    assert len(bodies) == 1


# --- issue 14: revocable tokens, refresh, password policy ----------------------------------------


def test_logout_ends_the_session_of_the_token_and_its_refresh_token(
    client: TestClient, db_session: Session, chief: str
) -> None:
    body = _sign_in(client, chief, PASSWORD).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    out = client.post("/api/v1/auth/logout", headers=headers)
    assert out.status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    refreshed = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 401
    actions = db_session.execute(
        text("SELECT action FROM audit_log WHERE username = :u ORDER BY id"), {"u": chief}
    ).scalars()
    assert list(actions) == ["auth.sign_in", "auth.sign_out"]


def test_page_logout_ends_the_cookie_session_on_the_server(client: TestClient, chief: str) -> None:
    client.post("/login", data={"username": chief, "password": PASSWORD}, follow_redirects=False)
    copied = client.cookies.get(SESSION_COOKIE)
    assert copied and client.get("/api/v1/auth/me").status_code == 200
    client.get("/logout", follow_redirects=False)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, copied)  # a copy of the cookie taken before logout
    assert client.get("/api/v1/auth/me").status_code == 401


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    client: TestClient, chief: str
) -> None:
    first = _sign_in(client, chief, PASSWORD).json()

    def refresh(token: str) -> httpx.Response:
        return client.post(
            "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )

    second = refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    renewed = second.json()
    assert renewed["refresh_token"] != first["refresh_token"]
    assert (
        decode_token(renewed["access_token"])["sid"] == decode_token(first["access_token"])["sid"]
    )
    headers = {"Authorization": f"Bearer {renewed['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    # The first refresh token was used up; presenting it again means it was copied: the whole
    # session ends, for the thief and the owner alike.
    assert refresh(first["refresh_token"]).status_code == 401
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert refresh(renewed["refresh_token"]).status_code == 401
    assert refresh("garbage").status_code == 401


def test_changing_the_password_applies_the_policy_and_ends_every_session(
    client: TestClient, db_session: Session, chief: str
) -> None:
    tokens = [_sign_in(client, chief, PASSWORD).json()["access_token"] for _ in range(2)]
    headers = {"Authorization": f"Bearer {tokens[0]}"}

    def change(current: str, new: str) -> httpx.Response:
        return client.post(
            "/api/v1/auth/password",
            json={"current_password": current, "new_password": new},
            headers=headers,
        )

    for weak in ("12345678", "password", "password1234", f"{chief}-2024-xyz"):
        refused = change(PASSWORD, weak)
        assert refused.status_code == 400, weak
        assert refused.json()["detail"].startswith(("a password", "the password"))
    wrong = change("not-my-password", "granite-willow-harbour-19")
    assert wrong.status_code == 400 and "current password" in wrong.json()["detail"]
    assert change(PASSWORD, "granite-willow-harbour-19").status_code == 204
    for token in tokens:
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    assert _sign_in(client, chief, PASSWORD).status_code == 401
    assert _sign_in(client, chief, "granite-willow-harbour-19").status_code == 200


@pytest.mark.parametrize("weak", ["12345678", "password", "qwertyuiop", "1qaz2wsx3edc", "short"])
def test_weak_passwords_are_refused_for_every_account_writer(
    db_session: Session, chief: str, weak: str
) -> None:
    from gis.accounts import create_user, set_password
    from gis.errors import InvalidInput

    areas = demo_areas(db_session)
    with pytest.raises(InvalidInput) as created:
        create_user(db_session, "new_admin", weak, "admin", areas.district)
    with pytest.raises(InvalidInput) as changed:
        set_password(db_session, chief, weak)
    assert created.value.parameter == changed.value.parameter == "password"
    assert get_account(db_session, "new_admin") is None


# --- issue 14: the rate limiter trusts only credentials it has checked --------------------------


def test_an_invalid_credential_does_not_bypass_the_anonymous_limit(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, chief: str
) -> None:
    monkeypatch.setenv("GRIDGOV_RATE_PUBLIC_PER_MINUTE", "5")
    for credential in (
        {"Cookie": f"{SESSION_COOKIE}=x"},
        {"Authorization": "Bearer not-a-token"},
        {"Cookie": f"{SESSION_COOKIE}={_forged(db_session, chief)}"},
    ):
        with _app_client(db_session) as client:
            statuses = [
                client.get("/api/v1/areas", headers=credential).status_code for _ in range(7)
            ]
        assert 429 in statuses, (credential, statuses)
        assert statuses.index(429) <= 5
    # A token whose session has ended passes once (the app then rejects it), not again.
    with _app_client(db_session) as client:
        token = token_for(db_session, chief)
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        statuses = [client.get("/api/v1/areas", headers=headers).status_code for _ in range(7)]
        assert statuses[0] == 401 and 429 in statuses


def _forged(db_session: Session, username: str) -> str:
    claims = jwt.decode(token_for(db_session, username), options={"verify_signature": False})
    return jwt.encode(claims, "not-our-secret-but-long-enough-0123456789", algorithm="HS256")


# --- issue 14: no-store, versions ------------------------------------------------------------


def test_personal_and_credential_responses_are_not_stored(
    client: TestClient, db_session: Session, chief: str
) -> None:
    headers = {"Authorization": f"Bearer {token_for(db_session, chief)}"}
    for path in ("/api/v1/households", "/api/v1/auth/me", "/api/v1/areas"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    signed_in = _sign_in(client, chief, PASSWORD)
    assert signed_in.headers["cache-control"] == "no-store"
    # Anonymous public data may be cached by the browser as before.
    assert "no-store" not in client.get("/api/v1/areas").headers.get("cache-control", "")


def test_health_shows_versions_only_to_admins(client: TestClient, db_session: Session) -> None:
    areas = demo_areas(db_session)
    add_account(db_session, "h_admin", "admin", areas.district)
    add_account(db_session, "h_chief", "grid_chief", areas.grid)
    for headers in ({}, {"Authorization": f"Bearer {token_for(db_session, 'h_chief')}"}):
        body = client.get("/api/v1/health", headers=headers).json()
        # Years without holiday data are an operator's to-do, not a version: shown to all.
        assert all(isinstance(year, int) for year in body.pop("calendar_missing_years"))
        assert body == {
            "status": "ok",
            "database": True,
            "postgres": None,
            "postgis": None,
            "schema_revision": None,
            "schema_current": True,
        }
    admin = client.get(
        "/api/v1/health", headers={"Authorization": f"Bearer {token_for(db_session, 'h_admin')}"}
    ).json()
    assert admin["postgres"] and admin["postgis"] and admin["schema_revision"]
