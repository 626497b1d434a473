"""Security middleware: headers, request-size and JSON-shape limits, per-client rate limits, CORS.

Pure ASGI middleware (no ``BaseHTTPMiddleware``), so streaming responses (SSE, exports) pass
through untouched except for HTML pages, whose inline scripts are hashed into the CSP.

Order, outermost first: security headers → rate limits → body limits → the app. Rejections made
by the outer layers therefore still carry the security headers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.security import SESSION_COOKIE, signed_credential
from gis.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROBLEM_JSON = b"application/problem+json"
SIGN_IN_PATHS = frozenset({"/api/v1/auth/token", "/login"})
# Responses that carry credentials or the caller's own account, whoever asks.
NO_STORE_PREFIXES = ("/api/v1/auth/", "/login", "/logout")
RATE_LIMITED_PREFIXES = ("/api/", "/ogc", "/open311", "/map/")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_TRACKED_CLIENTS = 20_000


async def send_problem(
    send: Send, status: int, title: str, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _session_cookie(scope: Scope) -> str | None:
    cookies = _header(scope, b"cookie")
    if not cookies or f"{SESSION_COOKIE}=" not in cookies:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookies)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


# --- JSON shape ------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NON_FINITE = re.compile(rb"(?<![A-Za-z0-9_])-?(?:NaN|Infinity)(?![A-Za-z0-9_])")
_BRACKETS_ONLY = bytes(c for c in range(256) if chr(c) not in "[]{}")


def json_nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings are ignored).

    Counts without parsing, in C-speed passes, so a hostile body costs little.

    >>> json_nesting_depth(b'{"a": [[1, 2], {"b": "]]]"}]}')
    3
    >>> json_nesting_depth(b"[" * 5 + b"]" * 5)
    5
    """
    structure = _JSON_STRING.sub(b'""', body).translate(None, _BRACKETS_ONLY)
    depth = deepest = 0
    for char in structure:
        depth += 1 if char in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def has_non_finite_number(body: bytes) -> bool:
    """Whether a JSON text uses NaN or Infinity, which Python's parser would accept.

    >>> has_non_finite_number(b'{"x": NaN}'), has_non_finite_number(b'{"x": "NaN"}')
    (True, False)
    """
    return _NON_FINITE.search(_JSON_STRING.sub(b'""', body)) is not None


def _looks_like_json(content_type: str | None, body: bytes) -> bool:
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return True
        if media.startswith("multipart/") or media == "application/x-www-form-urlencoded":
            return False
    return body.lstrip()[:1] in (b"{", b"[")


class BodyLimitMiddleware:
    """Reject oversized bodies (413) and JSON too deep or with NaN/Infinity (400) up front.

    The body is read here, bounded by the limit, and replayed to the app, so nothing downstream
    ever sees an oversized or malformed-in-shape request.
    """

    def __init__(self, app: ASGIApp, limits: Settings) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        declared = _header(scope, b"content-length")
        is_json_type = _looks_like_json(content_type, b"")
        limit = self.limits.max_json_bytes if is_json_type else self.limits.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _looks_like_json(content_type, body):
            if size > self.limits.max_json_bytes:
                await self._too_large(send, self.limits.max_json_bytes)
                return
            depth = json_nesting_depth(body)
            if depth > self.limits.max_json_depth:
                await send_problem(
                    send,
                    400,
                    "JSON nested too deeply",
                    f"the JSON body nests {depth} levels; at most {self.limits.max_json_depth} "
                    "are accepted",
                )
                return
            if has_non_finite_number(body):
                await send_problem(
                    send,
                    400,
                    "Invalid JSON number",
                    "NaN and Infinity are not JSON numbers; send finite numbers only",
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        await send_problem(
            send,
            413,
            "Request body too large",
            f"the request body exceeds {limit:,} bytes; send less data (split large uploads "
            "or simplify geometry)",
        )


# --- query guard -----------------------------------------------------------------------------


def bbox_span(value: str) -> tuple[float, float] | None:
    """The (width, height) in degrees of a ``w,s,e,n`` bbox, or None if it does not parse.

    >>> bbox_span("-180,-90,180,90")
    (360.0, 180.0)
    >>> bbox_span("not,a,bbox,really") is None
    True
    """
    parts = value.split(",")
    if len(parts) != 4:
        return None
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return None
    return abs(east - west), abs(north - south)


class QueryGuardMiddleware:
    """Refuse a bbox spanning more than a city region on the JSON API (400, with the reason).

    gridgov serves one city; a world-spanning bbox is either a mistake or an attempt to make
    the server read everything. OGC API clients (QGIS, GDAL) legitimately send large extents and
    are paged by ``limit``, so /ogc is left to the standard's rules; other malformed values
    reach the endpoint, which explains them.
    """

    def __init__(self, app: ASGIApp, limits: Settings) -> None:
        self.app = app
        self.max_degrees = limits.max_bbox_degrees

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            from urllib.parse import parse_qsl

            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            for name, value in parse_qsl(query, keep_blank_values=True):
                if name != "bbox":
                    continue
                span = bbox_span(value)
                if span is not None and max(span) > self.max_degrees:
                    await send_problem(
                        send,
                        400,
                        "Invalid input",
                        f"bbox spans {span[0]:g}° × {span[1]:g}°; at most {self.max_degrees:g}° "
                        "either way is accepted — zoom in, or filter by within=<area code>",
                    )
                    return
        await self.app(scope, receive, send)


# --- rate limits -----------------------------------------------------------------------------


class TokenBuckets:
    """Per-key token buckets: ``rate`` requests a minute with bursts of up to ``rate``.

    Memory is bounded: the least recently seen keys are forgotten first.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until a token is free."""
        now = self.clock()
        tokens, last = self.buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.refill_per_second)
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self.buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.refill_per_second
        while len(self.buckets) > MAX_TRACKED_CLIENTS:
            self.buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """Per-client limits on sign-in attempts and on anonymous use of the data endpoints.

    Signed-in requests are not limited here: accounts are accountable and audited. A credential
    counts as signed in only if it is a token we signed, unexpired, and not of a session this
    worker has seen ended (:func:`api.security.signed_credential`); anything else — ``Cookie:
    gridgov_session=x`` — is anonymous. Limits are per process; each worker keeps its own.
    """

    def __init__(self, app: ASGIApp, limits: Settings) -> None:
        self.app = app
        self.sign_in = TokenBuckets(limits.rate_sign_in_per_minute)
        self.public = TokenBuckets(limits.rate_public_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        client = scope.get("client")
        key = client[0] if client else "unknown"
        buckets = None
        if path in SIGN_IN_PATHS and scope["method"] == "POST":
            buckets = self.sign_in
        elif path.startswith(RATE_LIMITED_PREFIXES) and not self._signed_in(scope):
            buckets = self.public
        if buckets is not None:
            wait = buckets.take(key)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                await send_problem(
                    send,
                    429,
                    "Too many requests",
                    f"too many requests from this client; retry in {retry} s",
                    [(b"retry-after", retry.encode())],
                )
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _signed_in(scope: Scope) -> bool:
        credential = signed_credential(_header(scope, b"authorization"), _session_cookie(scope))
        return credential is not None


# --- headers ---------------------------------------------------------------------------------

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for the inline scripts of an HTML page.

    Folium writes its map set-up as inline scripts; hashing them lets the CSP forbid every other
    inline script (an injected one included) without 'unsafe-inline'.

    >>> inline_script_hashes(b"<script src='/x.js'></script>")
    []
    >>> inline_script_hashes(b"<script>var a = 1;</script>")[0].startswith("'sha256-")
    True
    """
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        content = match.group(1)
        if content.strip():
            digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return sorted(set(hashes))


def basemap_origins(settings: Settings) -> list[str]:
    """The origins (scheme://host) the configured basemap loads tiles from."""
    if settings.basemap == "none":
        return []
    from web.basemaps import basemap

    config = basemap(settings.basemap, settings.tianditu_key)
    origins: set[str] = set()
    for template in (config.url, config.label_url):
        if not template:
            continue
        for sub in config.subdomains or " ":
            parts = urlsplit(template.replace("{s}", sub.strip()))
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def content_security_policy(tile_origins: list[str], script_hashes: list[str]) -> str:
    tiles = " ".join(tile_origins)
    scripts = " ".join(["'self'", *script_hashes])
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        # Leaflet and Folium write style attributes and <style> blocks; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {tiles}".rstrip(),
        f"connect-src 'self' {tiles}".rstrip(),
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, frame denial, referrer and permissions policies to every response.

    Also refuses cross-site state changes made with the session cookie (a second line behind
    SameSite=Lax): an unsafe method whose Origin header names another host gets 403.
    """

    def __init__(self, app: ASGIApp, tile_origins: list[str], https_only: bool) -> None:
        self.app = app
        self.tile_origins = tile_origins
        self.https_only = https_only
        self.static_headers: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if https_only:
            self.static_headers.append(
                (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._cross_site_cookie_write(scope):
            await send_problem(
                send,
                403,
                "Cross-site request refused",
                "state-changing requests with the session cookie must come from this site",
                [*self.static_headers, (b"content-security-policy", self._csp([]).encode())],
            )
            return
        start: Message | None = None
        html_chunks: list[bytes] = []
        private = self._private(scope)

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {b"x-frame-options", b"x-content-type-options"}
                ]
                if private:
                    headers = _no_store(headers)
                message["headers"] = headers + self.static_headers
                content_type = {k.lower(): v for k, v in headers}.get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # hold it until the page is complete and hashed
                    return
                message["headers"].append((b"content-security-policy", self._csp([]).encode()))
                await send(message)
                return
            if start is not None and message["type"] == "http.response.body":
                html_chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(html_chunks)
                csp = self._csp(inline_script_hashes(page))
                start["headers"].append((b"content-security-policy", csp.encode()))
                await send(start)
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _csp(self, hashes: list[str]) -> str:
        return content_security_policy(self.tile_origins, hashes)

    @staticmethod
    def _private(scope: Scope) -> bool:
        """Whether the response may hold personal data or credentials: anything answered to a
        request that carries a credential (valid or not), and the sign-in routes."""
        path: str = scope["path"]
        if path.startswith("/static/"):
            return False
        return (
            path.startswith(NO_STORE_PREFIXES)
            or _header(scope, b"authorization") is not None
            or _session_cookie(scope) is not None
        )

    @staticmethod
    def _cross_site_cookie_write(scope: Scope) -> bool:
        if scope["method"] not in UNSAFE_METHODS:
            return False
        origin = _header(scope, b"origin")
        if not origin:
            return False
        cookie = _header(scope, b"cookie") or ""
        if f"{SESSION_COOKIE}=" not in cookie and scope["path"] != "/login":
            return False
        host = _header(scope, b"host") or ""
        return urlsplit(origin).netloc.lower() != host.lower()


def _no_store(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers with ``Cache-Control: no-store``, unless the route marked the response public
    (the same for everyone, such as vector tiles) or chose ``private`` itself: a scoped photo
    (immutable by its hash) may stay in this user's browser cache, never a shared one."""
    for key, value in headers:
        if key.lower() == b"cache-control" and (
            b"public" in value.lower() or value.lower().startswith(b"private")
        ):
            return headers
    return [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [
        (b"cache-control", b"no-store")
    ]


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Install the security middleware on ``app`` (innermost first)."""
    limits = settings
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(QueryGuardMiddleware, limits=limits)
    app.add_middleware(RateLimitMiddleware, limits=limits)
    if limits.cors_origins:
        # CORS is off unless GRIDGOV_CORS_ORIGINS lists origins: the API is same-origin.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=limits.cors_origins,
            allow_methods=["GET"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        SecurityHeadersMiddleware,
        tile_origins=basemap_origins(settings),
        https_only=settings.environment == "production",
    )
