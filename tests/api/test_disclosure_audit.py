"""The disclosure rule, proven over every GET route: unmasked personal data needs a purpose and
leaves only with an audit row written for that very request.

Generated from the route list like the access matrix (tests/api/test_access_matrix.py, whose route
walk, sample values and personal-value index this reuses). Every GET route is called as every
role and the public, twice:

1. without a purpose — the response must carry no unmasked personal value at all (names, ID
   numbers and mobiles of residents, staff and reporters, looked up in the demo database);
2. with a purpose unique to the request (``X-Purpose: coverage-<n>``) — if the response carries
   any unmasked personal value, the audit log must hold a disclosure row of that account with
   exactly that purpose, written in the request's transaction.

A new route is covered automatically. Event streams are left to their owners' live tests (they
never end), as in the matrix.
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.scope import Viewer
from tests.api.test_access_matrix import (
    GET_ROUTES,
    ID_NUMBER,
    MOBILE,
    STREAMING_PATH,
    PersonalIndex,
    RouteInfo,
    Samples,
    calls_for,
    matrix,
    own_values,
    personal_index,
)

__all__ = ["matrix", "personal_index"]  # fixtures, imported to be used here
REQUEST_NUMBER = count(1)
# Routes known to disclose with a purpose: each must really do so here, or the test is vacuous.
# (Service orders are left out: the demo city has none; tests/api/test_service_orders.py.)
DISCLOSING = {
    "/api/v1/households",
    "/api/v1/households/{code}",
    "/api/v1/incidents",
    "/api/v1/incidents/{incident_id}",
    "/api/v1/locate",
    "/api/v1/areas/{code}",
    "/ogc/collections/{collection_id}/items",
}


def unmasked_values(content_type: str, body: bytes, index: PersonalIndex) -> set[str]:
    """Every known personal value a response carries in the clear."""
    found: set[str] = set()

    def text_value(value: str) -> None:
        if value in index.personal:
            found.add(value)
        for pattern in (ID_NUMBER, MOBILE):
            found.update(
                m.group(0) for m in pattern.finditer(value) if m.group(0) in index.personal
            )

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            text_value(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            text_value(str(value))

    if "json" in content_type:
        try:
            walk(json.loads(body))
        except ValueError:
            text_value(body.decode("utf-8", "replace"))
    elif "vnd.mapbox-vector-tile" in content_type or "protobuf" in content_type:
        if body:
            walk(mapbox_vector_tile.decode(body))
    else:
        text_value(body.decode("utf-8", "replace"))
    return found


def disclosure_rows(session: Session, username: str | None, purpose: str) -> list[Any]:
    return session.execute(
        text(
            "SELECT action, target, purpose, subjects, area_code, detail FROM audit_log"
            " WHERE username IS NOT DISTINCT FROM :u AND purpose = :p"
            " AND action = ANY(CAST(:actions AS text[]))"
        ),
        {"u": username, "p": purpose, "actions": list(audit.DISCLOSURE_ACTIONS)},
    ).all()


@pytest.mark.parametrize("info", GET_ROUTES, ids=[r.label for r in GET_ROUTES])
def test_every_unmasked_response_states_a_purpose_and_is_audited(
    info: RouteInfo,
    matrix: tuple[TestClient, dict[str, tuple[Viewer, dict[str, str]]], Samples],
    personal_index: PersonalIndex,
    db_session: Session,
) -> None:
    if STREAMING_PATH.search(info.path):
        return  # never ends; the matrix checks its viewer dependency
    client, viewers, samples = matrix
    calls, missing, _ = calls_for(info, samples)
    assert not missing, f"{info.label}: no sample for {', '.join(missing)} (see the matrix)"
    problems: list[str] = []
    disclosed = 0
    for role, (viewer, headers) in viewers.items():
        # A member's or resident's own name, ID number and phone are his to read (the matrix's
        # rule): reading them is no disclosure to anyone else, so it needs no purpose.
        own = own_values(db_session, viewer)
        for call in calls:
            where = f"{role} GET {call.path}?{'&'.join(f'{k}={v}' for k, v in call.params.items())}"
            plain = client.get(call.path, params=call.params, headers=headers)
            if plain.status_code < 400:
                leaked = (
                    unmasked_values(
                        plain.headers.get("content-type", ""), plain.content, personal_index
                    )
                    - own
                )
                if leaked:
                    problems.append(f"{where} without a purpose: unmasked {sorted(leaked)[:3]}")
            purpose = f"coverage-{next(REQUEST_NUMBER)}"
            response = client.get(
                call.path, params=call.params, headers={**headers, "X-Purpose": purpose}
            )
            if response.status_code >= 500:
                problems.append(f"{where}: server error {response.status_code}")
                continue
            if response.status_code >= 400:
                continue
            shown = (
                unmasked_values(
                    response.headers.get("content-type", ""), response.content, personal_index
                )
                - own
            )
            if not shown:
                continue
            disclosed += 1
            rows = disclosure_rows(db_session, viewer.username, purpose)
            if not rows:
                problems.append(
                    f"{where} with purpose {purpose}: {len(shown)} unmasked values (e.g. "
                    f"{sorted(shown)[0]!r}) and no audit row for the request"
                )
            elif not any(r.subjects or r.area_code for r in rows):
                problems.append(f"{where}: the audit row names nobody it disclosed")
    assert not problems, f"{len(problems)} unaudited disclosures:\n" + "\n".join(problems[:25])
    if info.path in DISCLOSING:
        assert disclosed, f"{info.label} disclosed nothing with a purpose: the samples miss it"


def test_the_detector_sees_unmasked_values(personal_index: PersonalIndex) -> None:
    """The detector itself: a clear ID number is found, its mask is not."""
    value = next(v for v in personal_index.personal if ID_NUMBER.fullmatch(v))
    body = json.dumps({"a": [value], "b": value[:6] + "*" * 8 + value[-4:]}).encode()
    assert unmasked_values("application/json", body, personal_index) == {value}
    html = f"<td>{value}</td>".encode()
    assert unmasked_values("text/html", html, personal_index) == {value}
