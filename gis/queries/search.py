"""Search across areas, buildings, party organisations and service facilities (public data).

Chinese has no spaces to split words on, so matching is by substring (ILIKE, served by the
pg_trgm GIN indexes) on the name — and the address for buildings and facilities — or by code
prefix. Results are ranked: exact code first, then code prefix, then trigram similarity.
Household-level party organisations (党员中心户) are left out: their name identifies a home.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.queries.areas import escape_like
from gis.scope import Viewer
from gis.sqlfiles import read_sql

MAX_QUERY_LENGTH = 100
MAX_LIMIT = 100


def search(session: Session, viewer: Viewer, q: str, limit: int = 20) -> dict[str, Any]:
    """Ranked matches for ``q``; ``total`` counts every match, ``items`` the first ``limit``."""
    query = q.strip()
    if not query:
        raise InvalidInput("q must contain at least one non-blank character", parameter="q")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"q must be at most {MAX_QUERY_LENGTH} characters", parameter="q")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    escaped = escape_like(query)
    rows = session.execute(
        text(read_sql("search.sql")),
        {"q": query, "pattern": f"%{escaped}%", "code_prefix": f"{escaped}%", "limit": limit},
    ).mappings()
    items = []
    total = 0
    for row in rows:
        total = int(row["total"])
        items.append(
            {
                "type": row["type"],
                "subtype": row["subtype"],
                "code": row["code"],
                "name": row["name"],
                "address": row["address"],
                "lon": row["lon"],
                "lat": row["lat"],
                "score": round(float(row["score"]), 4),
                "exact_code": row["match_rank"] == 0,
            }
        )
    return {"q": query, "total": total, "items": items}
