"""``GET /api/v1/search``: find areas, buildings, party organisations and facilities."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.schemas.search import SearchResult
from api.security import ViewerDep
from gis.queries import search as queries

router = APIRouter(tags=["spatial"])


@router.get(
    "/search",
    response_model=SearchResult,
    responses={400: {"description": "q blank or too long, limit out of range"}},
)
def search(
    session: SessionDep,
    viewer: ViewerDep,
    q: Annotated[
        str,
        Query(
            max_length=queries.MAX_QUERY_LENGTH,
            description="Part of a name or address (Chinese substring), or a code",
            examples=["东大街"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 20,
) -> dict[str, Any]:
    """Matches ranked: exact code first, then code prefix, then trigram similarity."""
    return queries.search(session, viewer, q, limit)
