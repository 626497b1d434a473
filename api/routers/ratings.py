"""The reporter rates his own case (一事一评), authorised by his Open311 token or signed link.

``GET /api/v1/ratings/{credential}`` shows the case's public status and whether it can be rated;
``POST`` records 1–5 stars and a comment once, after closing (409 before closing and for a
second rating; 404 for a link that is not ours, 403 for an expired one). The rules are
gis/incidents/rating.py; the reporter's page ``/rate/{credential}`` (web/rating_page.py) uses
the same functions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import SessionDep
from api.schemas.incidents import RatingCreate
from api.security import scope_decision
from gis.incidents import rating

router = APIRouter(tags=["incidents"])

Credential = Annotated[
    str,
    Path(
        max_length=80,
        description="the rating token of the link the reporter received, or his Open311 token",
    ),
]


@router.get("/ratings/{credential}", openapi_extra=scope_decision("public"))
def rating_status(session: SessionDep, credential: Credential) -> dict[str, Any]:
    """The case's public status, its rating if given, and whether it can be rated now."""
    return rating.public_case(session, credential)


@router.post("/ratings/{credential}", status_code=201, openapi_extra=scope_decision("public"))
def rate_case(session: SessionDep, credential: Credential, body: RatingCreate) -> JSONResponse:
    """Rate the closed case: 1–5 stars and a comment, once."""
    case = rating.rate(session, credential, body.rating, body.comment)
    return JSONResponse(case, status_code=201)
