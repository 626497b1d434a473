"""Who may submit a case: a signed-in account, or an API client by its key. The one rule.

Every public way in — ``POST /api/v1/incidents``, Open311 ``POST requests`` and ``POST
servicerequestupdates`` — asks :func:`require_submitter` first and :func:`stamp_submitter` just
before its transaction commits, so there is no anonymous side door. Requests that are not signed
in (API-key clients included) are also throttled per client address by the one rate limiter
(``RateLimitMiddleware`` in api/middleware.py, the same bucket for ``/api/`` and ``/open311``).

An API key travels as Open311 says (the ``api_key`` form field) or, for the JSON API, in the
``X-API-Key`` header (or ``api_key`` query parameter).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gis.accounts import api_client_name, verify_api_key
from gis.errors import Forbidden
from gis.scope import Viewer

API_KEY_HEADER = "X-API-Key"
REFUSAL = (
    "sign in (POST /api/v1/auth/token) or send a valid API key "
    "(the api_key field, or the X-API-Key header) to submit"
)


def require_submitter(session: Session, viewer: Viewer, api_key: str | None) -> str | None:
    """None for a signed-in viewer, else the name of the active API client holding ``api_key``;
    :class:`~gis.errors.Forbidden` for anyone else.

    Read only: :func:`gis.accounts.verify_api_key` stamps ``last_used_at`` under a row lock, which
    would queue every request of one client behind the previous one until it commits;
    :func:`stamp_submitter` does that just before the commit instead.
    """
    if not viewer.is_public:
        return None
    name = api_client_name(session, api_key)
    if name is None:
        raise Forbidden(REFUSAL)
    return name


def stamp_submitter(session: Session, viewer: Viewer, api_key: str | None) -> None:
    """Record the key's use, checking it again (it may have been revoked meanwhile)."""
    if viewer.is_public and verify_api_key(session, api_key) is None:
        raise Forbidden(REFUSAL)
