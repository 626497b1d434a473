"""Sign-in: tokens, the session cookie, lock-out, rejected credentials, headers, rate limits."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.security import SESSION_COOKIE, create_token, decode_token
from gis.accounts import get_account
from gis.db import get_session
from gis.settings import get_settings
from tests.api.security_helpers import PASSWORD, add_account, demo_areas, token_for


def _app_client(db_session: Session) -> TestClient:
    app = create_app()

    def _session() -> Iterator[Session]:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    return TestClient(app)


@pytest.fixture
def chief(db_session: Session) -> str:
    areas = demo_areas(db_session)
    add_account(db_session, "li_chief", "grid_chief", areas.grid)
    db_session.commit()  # into the test's outer transaction, safe from request rollbacks
    return "li_chief"


def _sign_in(client: TestClient, username: str, password: str) -> object:
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
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 30 * 60

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
    good = create_token(account, timedelta(minutes=5))
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-of-enough-length-1234567", algorithm="HS256")
    expired = create_token(account, timedelta(seconds=-1))
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


def test_disabled_and_locked_accounts_lose_their_tokens_at_once(
    client: TestClient, db_session: Session, chief: str
) -> None:
    token = token_for(db_session, chief)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/households", headers=headers).status_code == 200
    db_session.execute(
        text("UPDATE app_user SET locked_until = now() + interval '1 hour' WHERE username = :u"),
        {"u": chief},
    )
    assert client.get("/api/v1/households", headers=headers).status_code == 401
    db_session.execute(
        text("UPDATE app_user SET locked_until = NULL, is_active = false WHERE username = :u"),
        {"u": chief},
    )
    assert client.get("/api/v1/households", headers=headers).status_code == 401


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


def test_sign_in_page_failure_and_no_open_redirect(client: TestClient, chief: str) -> None:
    failed = client.post("/login", data={"username": chief, "password": "bad-password"})
    assert failed.status_code == 401
    assert "用户名或密码错误" in failed.text
    assert "set-cookie" not in failed.headers
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"username": chief, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


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
    monkeypatch.setenv("GRIDGOV_SECRET_KEY", "p" * 40)
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
        assert create_app().title == "gridgov"
    finally:
        get_engine().dispose()
        for cache in caches:
            cache.cache_clear()
        drop_test_database(server_url, url)
