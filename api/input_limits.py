"""Input the database cannot hold is refused at the edge with 400, before any handler runs.

PostgreSQL stores no NUL character in text, no integer beyond bigint, and gridgov's dates must
stay inside what both Python and PostgreSQL represent after a time-zone shift. Such values are
never meaningful input, so one guard refuses them for every route — path, query string, form and
JSON bodies — instead of each handler finding out from a database error (a 500). String lengths
are the schemas' business: every stored string field declares ``max_length`` (api/schemas/,
``FIELD_LIMITS`` of the Open311 form). docs/security.md, "Input limits".

A pure ASGI middleware installed innermost, so that the body it reads has already been bounded
by the body-size limit (api/middleware.py) and is replayed to the app unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
# A day inside Python's date range at each end, so that a time-zone shift (CST is UTC+8) of any
# accepted instant still fits; PostgreSQL's own range is far wider.
EARLIEST_DATE = date(1, 1, 2)
LATEST_DATE = date(9999, 12, 30)

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
# A value that is a date or date-time, alone or as one end of an interval (OGC ``datetime``).
_DATE = re.compile(r"^[+-]?([0-9]{4,})-([0-9]{2})-([0-9]{2})(?:[T ][0-9:.]*(?:Z|[+-][0-9:]+)?)?$")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_JSON_LONG_INTEGER = re.compile(rb"(?<![0-9A-Za-z_.])-?[0-9]{19,}(?![0-9.eE])")


class Refusal(ValueError):
    """A value the database cannot hold; ``str()`` says which and what to send instead."""


def check_value(name: str, value: str) -> None:
    """Refuse ``value`` of parameter ``name`` if the database could not hold it.

    >>> check_value("offset", "100")
    >>> check_value("offset", "9223372036854775808")
    Traceback (most recent call last):
    ...
    api.input_limits.Refusal: offset: 9223372036854775808 is beyond the largest whole number \
accepted (9223372036854775807)
    >>> check_value("q", "a\\x00b")
    Traceback (most recent call last):
    ...
    api.input_limits.Refusal: q: contains a NUL character (\\u0000), which cannot be stored
    """
    if "\x00" in value:
        raise Refusal(f"{name}: contains a NUL character (\\u0000), which cannot be stored")
    if len(value) >= 19 and _INTEGER.match(value):  # shorter integers always fit a bigint
        number = int(value)
        if number > BIGINT_MAX:
            raise Refusal(
                f"{name}: {value[:40]} is beyond the largest whole number accepted ({BIGINT_MAX})"
            )
        if number < BIGINT_MIN:
            raise Refusal(
                f"{name}: {value[:40]} is below the smallest whole number accepted ({BIGINT_MIN})"
            )
    elif 10 <= len(value) <= 80:
        for part in value.split("/"):
            _check_date(name, part.strip())


def _check_date(name: str, value: str) -> None:
    match = _DATE.match(value)
    if match is None:
        return
    year, month, day = (int(g) for g in match.groups())
    if value.startswith("-") or year > 9999 or year < 1:
        raise Refusal(f"{name}: {value[:40]} is outside the dates accepted ({_range()})")
    try:
        found = date(year, month, day)
    except ValueError:
        return  # not a real date: the parameter's own parser explains it
    if not EARLIEST_DATE <= found <= LATEST_DATE:
        raise Refusal(f"{name}: {value[:40]} is outside the dates accepted ({_range()})")


def _range() -> str:
    return f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"


def check_pairs(pairs: list[tuple[str, str]]) -> None:
    """Refuse the first (name, value) pair the database could not hold."""
    for name, value in pairs:
        if "\x00" in name:
            raise Refusal("a parameter name contains a NUL character (\\u0000)")
        check_value(name, value)


def check_json(body: bytes) -> None:
    """Refuse a JSON text holding a NUL, an integer beyond bigint or an impossible date."""
    if _JSON_NUL.search(body):
        raise Refusal("the JSON body contains a NUL character (\\u0000), which cannot be stored")
    strings = _JSON_STRING.findall(body)
    structure = _JSON_STRING.sub(b'""', body)
    for match in _JSON_LONG_INTEGER.finditer(structure):
        check_value("a number in the JSON body", match.group(0).decode())
    for literal in strings:
        inner = literal[1:-1]
        if 10 <= len(inner) <= 80 and inner[:1] in b"0123456789+-":
            for part in inner.decode("utf-8", "replace").split("/"):
                _check_date("a date in the JSON body", part.strip())


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


class DatabaseInputGuard:
    """Refuse requests carrying values the database cannot hold (400, in the surface's format)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_url(scope)
        except Refusal as exc:
            await self._refuse(scope, receive, send, str(exc))
            return
        content_type = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
        is_json = content_type == "application/json" or content_type.endswith("+json")
        is_form = content_type == "application/x-www-form-urlencoded"
        if scope["method"] in {"GET", "HEAD", "OPTIONS"} or not (is_json or is_form):
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            if is_json:
                check_json(body)
            else:
                check_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        except Refusal as exc:
            await self._refuse(scope, receive, send, str(exc))
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
    def _check_url(scope: Scope) -> None:
        path: str = scope["path"]
        for segment in path.split("/"):
            # ``requests.{fmt}``, ``{level}.geojson``: each part is a value of its own.
            for part in {segment, *segment.split(".")}:
                check_value("the path", part)
        query = bytes(scope.get("query_string", b""))
        if query:
            check_pairs(parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        from api.errors import surface_error

        response = surface_error(scope["path"], 400, "Invalid input", detail)
        await response(scope, receive, send)


def install_input_guard(app: FastAPI) -> None:
    """Install the guard; call it before any other middleware so that it runs innermost."""
    app.add_middleware(DatabaseInputGuard)
