"""Sign-in: OAuth2 password flow for API clients, a sign-in page and session cookie for the maps.

- ``POST /api/v1/auth/token`` (form: username, password) → a short-lived signed access token
  and a refresh token; with ``grant_type=refresh_token`` → a new pair (the old refresh token is
  used up).
- ``POST /api/v1/auth/logout`` → ends the session of the token or cookie sent.
- ``POST /api/v1/auth/password`` → change your own password (ends every session).
- ``GET /api/v1/auth/me`` → the signed-in account (role, scope, what it may unmask).
- ``GET|POST /login`` and ``GET|POST /logout`` → the sign-in page; an HttpOnly, SameSite=Lax
  session cookie for the map pages.

A failed sign-in is answered without raising, so the request's transaction commits the failure
counts that drive the lock-outs (gis/accounts.py).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.deps import SessionDep
from api.errors import problem
from api.security import (
    ENDED_SESSIONS,
    SESSION_COOKIE,
    SignedInViewerDep,
    client_address,
    create_token,
    decode_token,
    scope_decision,
)
from gis import audit
from gis.accounts import (
    MAX_PASSWORD_LENGTH,
    Account,
    AuthenticationFailed,
    authenticate,
    change_own_password,
    refresh_session,
    revoke_session,
    start_session,
)
from gis.scope import PERSONAL_DATA_ROLES, Viewer, viewer_scope
from gis.settings import get_settings
from web.home import landing_path

PREFIX = ""
router = APIRouter(tags=["auth"])
AUTH = scope_decision("auth")

TEXT = {
    "zh-CN": {
        "title": "登录 · gridgov 网格化治理",
        "heading": "登录",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "failed": "用户名或密码错误，或账户已被暂时锁定。请稍后再试。",
        "public": "不登录也可以查看公开地图",
        "signed_out": "您已退出登录。",
    },
    "en": {
        "title": "Sign in · gridgov",
        "heading": "Sign in",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "failed": "Wrong username or password, or the account is locked for a while.",
        "public": "The public map needs no sign-in",
        "signed_out": "You have signed out.",
    },
}


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(
        description="exchange it at this endpoint (grant_type=refresh_token) for a new pair "
        "before the session ends; each refresh token works once"
    )
    refresh_expires_in: int = Field(description="seconds until the session ends")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class Me(BaseModel):
    username: str
    role: str
    scope_code: str | None
    scope_name: str | None
    may_unmask: bool


def _sign_in(session: SessionDep, request: Request, username: str, password: str) -> Account | None:
    who = Viewer(username[:64], "public", None)
    try:
        account = authenticate(session, username, password, client=client_address(request))
    except AuthenticationFailed as exc:
        detail = {"locked_until": exc.locked_until.isoformat()} if exc.locked_until else {}
        audit.record(
            session,
            who,
            audit.SIGN_IN_FAILED,
            f"user:{username[:64] or '-'}",
            client=client_address(request),
            detail=detail,
        )
        return None
    viewer = Viewer(
        account.username,
        account.role,
        viewer_scope(account.role, account.scope_code),
        account.id,
        household_id=account.household_id,
    )
    audit.record(
        session, viewer, audit.SIGN_IN, f"user:{account.username}", client=client_address(request)
    )
    return account


def _token_failed(detail: str) -> JSONResponse:
    response = problem(401, "Sign-in failed", detail)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _token_pair(account: Account, session_id: str, refresh: str, expires: datetime) -> Token:
    lifetime = timedelta(minutes=get_settings().token_minutes)
    return Token(
        access_token=create_token(account, lifetime, session_id),
        expires_in=int(lifetime.total_seconds()),
        refresh_token=refresh,
        refresh_expires_in=max(0, int((expires - datetime.now(UTC)).total_seconds())),
    )


@router.post(
    "/api/v1/auth/token",
    response_model=Token,
    responses={401: {"description": "Wrong username or password, locked, or a used refresh token"}},
    openapi_extra=AUTH,
)
def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[str, Form(pattern="^(password|refresh_token)$")] = "password",
    username: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    refresh_token: Annotated[str, Form(max_length=200)] = "",
) -> Token | JSONResponse:
    """OAuth2 token endpoint: a password sign-in, or a refresh.

    ``grant_type=password`` (default) with ``username`` and ``password`` starts a session;
    ``grant_type=refresh_token`` with ``refresh_token`` renews it. Either way the answer holds a
    short-lived access token and a new refresh token (the one sent is used up).
    """
    if grant_type == "refresh_token":
        try:
            holder, renewed = refresh_session(session, refresh_token)
        except AuthenticationFailed:
            return _token_failed(
                "the refresh token is invalid, expired or already used, or the session has "
                "ended; sign in again with your password"
            )
        assert renewed.refresh_token is not None
        return _token_pair(holder, renewed.id, renewed.refresh_token, renewed.expires_at)
    account = _sign_in(session, request, username, password)
    if account is None:
        return _token_failed(TEXT["en"]["failed"])
    started = start_session(
        session,
        account,
        "api",
        timedelta(hours=get_settings().session_hours),
        client=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    assert started.refresh_token is not None
    return _token_pair(account, started.id, started.refresh_token, started.expires_at)


@router.post(
    "/api/v1/auth/logout",
    status_code=204,
    responses={401: {"description": "Not signed in"}},
    openapi_extra=AUTH,
)
def api_logout(request: Request, viewer: SignedInViewerDep, session: SessionDep) -> Response:
    """End the session of the token (or cookie) sent: its access and refresh tokens stop
    working at once."""
    _end_session(session, request, viewer)
    return Response(status_code=204)


@router.post(
    "/api/v1/auth/password",
    status_code=204,
    responses={
        400: {"description": "Wrong current password, or the new one is too weak"},
        401: {"description": "Not signed in"},
    },
    openapi_extra=AUTH,
)
def change_password(
    request: Request, body: PasswordChange, viewer: SignedInViewerDep, session: SessionDep
) -> Response:
    """Change your own password. Every session of the account ends, this one included: sign
    in again with the new password. The new password must pass the policy (docs/security.md)."""
    assert viewer.username is not None
    change_own_password(session, viewer.username, body.current_password, body.new_password)
    audit.record(
        session,
        viewer,
        audit.ACCOUNT_CHANGE,
        f"user:{viewer.username}",
        client=client_address(request),
        detail={"change": "passwd", "by": "self"},
    )
    if viewer.session_id:
        ENDED_SESSIONS.add(viewer.session_id)
    return Response(status_code=204)


def _end_session(session: SessionDep, request: Request, viewer: Viewer) -> None:
    if viewer.session_id is None:
        return
    if revoke_session(session, viewer.session_id):
        audit.record(
            session,
            viewer,
            audit.SIGN_OUT,
            f"user:{viewer.username}",
            client=client_address(request),
        )
    ENDED_SESSIONS.add(viewer.session_id)


@router.get(
    "/api/v1/auth/me",
    response_model=Me,
    responses={401: {"description": "Not signed in"}},
    openapi_extra=AUTH,
)
def me(viewer: SignedInViewerDep, session: SessionDep) -> Me:
    """The signed-in account: role, scope and whether it may see personal fields unmasked."""
    assert viewer.username is not None
    # A resident has no area scope (himself and his household only): scope_code is null.
    scope_name = session.execute(
        text("SELECT name FROM area WHERE code = :code AND valid_to IS NULL"),
        {"code": viewer.scope_code},
    ).scalar()
    return Me(
        username=viewer.username,
        role=viewer.role,
        scope_code=viewer.scope_code,
        scope_name=scope_name,
        may_unmask=viewer.role in PERSONAL_DATA_ROLES,
    )


def _safe_next(target: str | None) -> str | None:
    """Only local paths, so the sign-in page cannot be used to redirect elsewhere; None when
    there is no usable destination (the account then lands on its own place, web.home)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _page(message: str | None, next_url: str | None, status: int = 200) -> HTMLResponse:
    lang = get_settings().language
    t = TEXT[lang]
    note = f'<p class="msg" role="alert">{html.escape(message)}</p>' if message else ""
    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(t["title"])}</title>
<style>
body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f4f4;
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}}
form{{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0003;width:18rem}}
h1{{color:#b71c1c;font-size:1.4rem;margin-top:0}} label{{display:block;margin:.8rem 0 .2rem}}
input{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}}
button{{margin-top:1.2rem;width:100%;padding:.6rem;background:#b71c1c;color:#fff;border:0;
border-radius:4px;font-size:1rem}} .msg{{color:#b71c1c}} a{{color:#555;font-size:.9rem}}
</style></head><body>
<form method="post" action="/login">
<h1>{html.escape(t["heading"])}</h1>{note}
<input type="hidden" name="next" value="{html.escape(next_url or "")}">
<label for="username">{html.escape(t["username"])}</label>
<input id="username" name="username" autocomplete="username" required maxlength="64">
<label for="password">{html.escape(t["password"])}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 maxlength="256">
<button type="submit">{html.escape(t["submit"])}</button>
<p><a href="/">{html.escape(t["public"])}</a></p>
</form></body></html>"""
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse, include_in_schema=False, openapi_extra=AUTH)
def login_page(next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return _page(None, _safe_next(next))


@router.post("/login", include_in_schema=False, openapi_extra=AUTH)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    account = _sign_in(session, request, username, password)
    target = _safe_next(next)
    if account is None:
        return _page(TEXT[get_settings().language]["failed"], target, status=401)
    if target is None:
        # No (usable) destination: each role lands on its own place, a grid chief on his grid.
        target = landing_path(
            Viewer(account.username, account.role, viewer_scope(account.role, account.scope_code))
        )
    hours = get_settings().session_hours
    started = start_session(
        session,
        account,
        "cookie",
        timedelta(hours=hours),
        client=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        create_token(account, timedelta(hours=hours), started.id),
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or get_settings().environment == "production",
        path="/",
    )
    return response


@router.api_route("/logout", methods=["GET", "POST"], include_in_schema=False, openapi_extra=AUTH)
def logout(request: Request, session: SessionDep) -> Response:
    """Sign out of the map pages: the cookie's session ends on the server too, not only in this
    browser. (API clients end theirs with ``POST /api/v1/auth/logout``.)"""
    try:
        claims = decode_token(request.cookies.get(SESSION_COOKIE) or "")
    except jwt.InvalidTokenError:
        claims = None
    if claims is not None:
        who = Viewer(
            str(claims["sub"]),
            str(claims.get("role") or "public"),
            claims.get("scope"),
            session_id=str(claims["sid"]),
        )
        _end_session(session, request, who)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
