"""Property-based fuzzing of the whole OpenAPI document with schemathesis (bounded budget).

Every operation of ``create_app()`` — including the ones other features add later — gets up to
:data:`MAX_EXAMPLES` generated requests (valid and invalid), derandomized so runs repeat, sent
by an admin account with the widest scope so the deepest code paths run. Each response must not
be a 5xx and must match the response schema the operation documents.

Excluded, with reasons (keep this list short and explicit):
- event streams (``text/event-stream``): they never end, so a generated request would hang;
  their owners test them against a live server.

(``schemathesis.pytest.from_fixture`` does not work with this pytest version, so the schema is
loaded once at import and each operation's test binds the app to its own rolled-back session.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from api.app import create_app
from gis.db import get_session
from tests.api.security_helpers import add_account, demo_areas, token_for

MAX_EXAMPLES = 12
STREAMING = r"/stream$"
_BOUND: dict[str, object] = {}


def _fuzzing_app() -> object:
    # Fuzzing sends thousands of anonymous requests; the rate limits have their own tests.
    saved = {k: os.environ.get(k) for k in ("GRIDGOV_RATE_PUBLIC_PER_MINUTE",)}
    os.environ["GRIDGOV_RATE_PUBLIC_PER_MINUTE"] = "100000000"
    try:
        app = create_app()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _session() -> Iterator[Session]:
        # Like gis.db.get_session: a failed request rolls back to its savepoint, so one bad
        # request cannot poison the session for the next.
        session = _BOUND["session"]
        assert isinstance(session, Session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    return app


APP = _fuzzing_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path_regex=STREAMING)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@pytest.fixture(autouse=True)
def _bind_session(db_session: Session) -> Iterator[None]:
    areas = demo_areas(db_session)
    add_account(db_session, "fuzz_admin", "admin", areas.district)
    db_session.commit()  # into the outer transaction, safe from request rollbacks
    _BOUND["session"] = db_session
    _BOUND["headers"] = {"Authorization": f"Bearer {token_for(db_session, 'fuzz_admin')}"}
    yield
    _BOUND.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_has_no_server_errors_and_keeps_its_schema(case: schemathesis.Case) -> None:
    headers = _BOUND["headers"]
    assert isinstance(headers, dict)
    case.call_and_validate(
        headers=headers, checks=[not_a_server_error, response_schema_conformance]
    )


def test_streaming_exclusion_is_only_streams() -> None:
    """The exclusion above must not hide ordinary endpoints."""
    paths = create_app().openapi()["paths"]
    excluded = [p for p in paths if re.search(STREAMING, p)]
    for path in excluded:
        assert set(paths[path]) == {"get"}, path
        assert "stream" in path, path
