"""Who is calling: the :class:`~gis.scope.Viewer` of a request, and the app's security set-up.

Every router that returns data takes ``viewer: ViewerDep`` and passes it to the data functions,
which scope and mask by it. A bearer token (``POST /api/v1/auth/token``) or the map pages'
session cookie (``/login``) identifies the account and its sign-in session; with no
credentials the viewer is the anonymous public. The session and the account are re-read on every
request, so logout, a new password or disabling the account end it at once. Lock-outs hold back
new sign-ins only and never end a session (docs/security.md).

Every route declares what it exposes with :func:`scope_decision` (``openapi_extra``); the
role × endpoint matrix test (``tests/api/test_access_matrix.py``) fails for a route without
one and checks the decision against what the route really returns, for every role.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import jwt
from anyio import to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from sqlalchemy.orm import Session

from api.deps import SessionDep
from gis import audit
from gis.accounts import Account, AuthenticationFailed, session_account
from gis.errors import InvalidInput
from gis.scope import ANONYMOUS, Viewer, viewer_scope
from gis.settings import Settings, get_settings

log = logging.getLogger("gridgov.security")

SESSION_COOKIE = "gridgov_session"
TOKEN_AUDIENCE = "gridgov"  # noqa: S105 - a claim value, not a secret
TOKEN_ALGORITHM = "HS256"  # noqa: S105
SCOPE_KEY = "x-gridgov-scope"

ScopeKind = Literal["public", "scoped", "personal", "auth"]
SCOPE_KINDS: dict[str, str] = {
    "public": "public information (boundaries, party organisations, facilities, aggregates, "
    "the public map); personal fields masked for everyone",
    "scoped": "rows limited to the viewer's area subtree; personal fields unmasked only for "
    "roles that need them, in scope",
    "personal": "personal records: only roles that need them, only in scope, masked unless the "
    "role may unmask; every unmasked read is audited",
    "auth": "sign-in and account endpoints: return only the caller's own account",
}


def scope_decision(kind: ScopeKind) -> dict[str, Any]:
    """``openapi_extra`` declaring what a route exposes (see :data:`SCOPE_KINDS`).

    >>> scope_decision("public")
    {'x-gridgov-scope': 'public'}
    """
    if kind not in SCOPE_KINDS:
        raise ValueError(f"scope decision must be one of {', '.join(SCOPE_KINDS)}")
    return {SCOPE_KEY: kind}


# --- tokens ----------------------------------------------------------------------------------


def create_token(
    account: Account, lifetime: timedelta, session_id: str, settings: Settings | None = None
) -> str:
    """A signed JWT naming the account and its sign-in session (claim ``sid``).

    Role and scope are re-read from the database on use, and the session must still be live.
    """
    settings = settings or get_settings()
    now = datetime.now(UTC)
    claims = {
        "sub": account.username,
        "aud": TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        "sid": session_id,
        "role": account.role,
        "scope": account.scope_code,
        "cred": account.credential_tag,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=TOKEN_ALGORITHM)


def decode_token(token: str, settings: Settings | None = None) -> dict[str, Any]:
    """The claims of a token signed by us and not expired; raises ``jwt.InvalidTokenError``.

    This says nothing about revocation: :func:`get_viewer` checks the session on every request.
    """
    settings = settings or get_settings()
    claims: dict[str, Any] = jwt.decode(
        token,
        settings.secret_key,
        algorithms=[TOKEN_ALGORITHM],
        audience=TOKEN_AUDIENCE,
        options={"require": ["sub", "exp", "aud", "cred", "sid"]},
    )
    return claims


class _EndedSessions:
    """Session ids this worker has seen rejected (revoked or expired), most recent first.

    The rate limiter consults it so that a signed but ended token stops passing as signed in
    after its first rejection, without a database read in the middleware.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session_id: str) -> None:
        with self._lock:
            self._ids[session_id] = None
            self._ids.move_to_end(session_id)
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._ids


ENDED_SESSIONS = _EndedSessions()


def signed_credential(authorization: str | None, cookie: str | None) -> dict[str, Any] | None:
    """The claims of the request's credential if it is ours, unexpired and not known to have
    ended; else None. No database read: for the middleware, before trusting a credential."""
    token = cookie
    if authorization:
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        return None
    try:
        claims = decode_token(token)
    except jwt.InvalidTokenError:
        return None
    return None if str(claims["sid"]) in ENDED_SESSIONS else claims


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _account_of(session: Session, token: str) -> tuple[Account, str]:
    claims = decode_token(token)
    session_id = str(claims["sid"])
    try:
        account = session_account(session, session_id)
    except AuthenticationFailed:
        ENDED_SESSIONS.add(session_id)
        raise
    if claims.get("sub") != account.username or claims.get("cred") != account.credential_tag:
        ENDED_SESSIONS.add(session_id)
        raise AuthenticationFailed()
    return account, session_id


async def get_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer of this request.

    A bearer token that is malformed, expired, or whose session ended (logout, new password,
    disabled account) is answered with 401 (so a client knows to sign in again or refresh). A
    stale session cookie just makes the visitor anonymous: the map pages then show the public
    map and a sign-in link. Anonymous requests are answered on the event loop; only a
    credential to check takes a thread.
    """
    cached = getattr(request.state, "viewer", None)
    if isinstance(cached, Viewer):
        return cached
    viewer = ANONYMOUS
    authorization = request.headers.get("authorization")
    cookie = request.cookies.get(SESSION_COOKIE)
    if authorization or cookie:
        viewer = await to_thread.run_sync(_credentialed_viewer, authorization, cookie, session)
    request.state.viewer = viewer
    return viewer


def _viewer(account: Account, session_id: str) -> Viewer:
    return Viewer(
        account.username,
        account.role,
        viewer_scope(account.role, account.scope_code),
        account.id,
        session_id,
        household_id=account.household_id,
    )


def _credentialed_viewer(authorization: str | None, cookie: str | None, session: Session) -> Viewer:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use 'Authorization: Bearer <token>' from POST /api/v1/auth/token")
        try:
            return _viewer(*_account_of(session, token.strip()))
        except (jwt.InvalidTokenError, AuthenticationFailed):
            raise _unauthorized(
                "the token is invalid or expired, or its session has ended (signed out, new "
                "password, account disabled); refresh it or sign in again at "
                "POST /api/v1/auth/token"
            ) from None
    try:
        return _viewer(*_account_of(session, cookie or ""))
    except (jwt.InvalidTokenError, AuthenticationFailed):
        return ANONYMOUS


PURPOSE_HEADER = "X-Purpose"


def request_purpose(query: str | None, header: str | None) -> str | None:
    """The purpose a request states (``purpose=`` wins over ``X-Purpose``), checked.

    Header values are Latin-1 on the wire, so a Chinese purpose in ``X-Purpose`` is sent
    percent-encoded as UTF-8 (``encodeURIComponent``) and decoded here.

    >>> request_purpose(None, "%E5%85%A5%E6%88%B7%E8%B5%B0%E8%AE%BF"), request_purpose(" ", None)
    ('入户走访', None)
    """
    value = query if query is not None else unquote(header) if header is not None else None
    value = value.strip() if value is not None else None
    if not value:
        return None
    if not audit.PURPOSE_MIN_LENGTH <= len(value) <= audit.PURPOSE_MAX_LENGTH:
        raise InvalidInput(
            f"purpose must be {audit.PURPOSE_MIN_LENGTH} to {audit.PURPOSE_MAX_LENGTH} "
            "characters: say why the personal data is needed (it is written to the audit log)",
            parameter="purpose",
        )
    return value


async def get_request_viewer(
    request: Request,
    viewer: Annotated[Viewer, Depends(get_viewer)],
    purpose: Annotated[
        str | None,
        Query(
            max_length=audit.PURPOSE_MAX_LENGTH,
            description="Why personal fields are needed (written to the audit log with this "
            "response). Without it (or X-Purpose) names, ID numbers and phones stay masked.",
        ),
    ] = None,
    x_purpose: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            description="The purpose as a header (percent-encoded UTF-8), for clients that "
            "cannot add query parameters",
        ),
    ] = None,
) -> Viewer:
    """The viewer of this request with the purpose it states (the disclosure rule's input)."""
    return viewer.with_purpose(request_purpose(purpose, x_purpose), client_address(request))


ViewerDep = Annotated[Viewer, Depends(get_request_viewer)]


def require_signed_in(viewer: ViewerDep) -> Viewer:
    if viewer.is_public:
        raise HTTPException(
            status_code=401,
            detail="sign in first (POST /api/v1/auth/token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


SignedInViewerDep = Annotated[Viewer, Depends(require_signed_in)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- start-up --------------------------------------------------------------------------------


class UnsafeProductionSetup(RuntimeError):
    """Production refuses to start with demo accounts present."""


def refuse_demo_accounts_in_production(settings: Settings) -> None:
    """In production, refuse to start while any demo account exists."""
    if settings.environment != "production":
        return
    from gis.accounts import count_demo_accounts
    from gis.db import get_engine

    try:
        with get_engine().connect() as conn:
            demo = count_demo_accounts(conn)
    except Exception as exc:
        raise UnsafeProductionSetup(
            f"production start-up cannot check for demo accounts: {exc.__class__.__name__}; "
            "make GRIDGOV_DATABASE_URL reachable"
        ) from exc
    if demo:
        raise UnsafeProductionSetup(
            f"refusing to start in production: {demo} demo account(s) exist (is_demo); "
            "delete them with `gridgov user purge-demo` (and never run `gridgov demo` on a "
            "production database)"
        )


def install_security(app: FastAPI) -> None:
    """Middleware (headers, limits, rate limits, optional CORS) and the production checks."""
    from api.middleware import install_middleware

    settings: Settings = app.state.settings
    refuse_demo_accounts_in_production(settings)
    install_middleware(app, settings)
    # The map pages (web/, which never imports api) resolve their viewer through this hook, so
    # a page and the API calls it makes see the same account from the same session cookie.
    app.state.resolve_viewer = get_viewer
