"""Precomputed per-area statistics (table ``area_stats``, migration 0008_area_stats).

Households, residents, party members, buildings and grids of the current version of every area,
read by OGC items and tiles and by area details instead of walking building → household →
resident → party_member per request. Writers that change those (the demo loader, imports,
boundary commits) call :func:`refresh_area_stats` in their own transaction, so the counts commit
together with the change. Open incidents are not stored: they change every minute and are
counted live through partial indexes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gis.scope import subtree_code_prefix

# Refreshes the buildings' rows first, then the areas' (migration 0010).
_REFRESH = "SELECT area_stats_refresh(%s)"


def refresh_area_stats(session_or_conn: Any, within_code: str | None = None) -> int:
    """Recompute the statistics of the areas that meet ``within_code``'s subtree (all if None).

    Grids and their current buildings under it are counted from the base tables (tables
    ``area_stats`` and ``building_stats``); every district, street and community above or
    below it is summed from its grids. Set-based; does not commit.

    Parameters
    ----------
    session_or_conn : Session, Connection or psycopg connection
        Where to run it: the caller's transaction.
    within_code : str, optional
        An area code; None refreshes the whole city.

    Returns
    -------
    int
        The number of grids refreshed.
    """
    prefix = subtree_code_prefix(within_code) if within_code else ""
    if isinstance(session_or_conn, Session | Connection):
        return int(
            session_or_conn.execute(
                text("SELECT area_stats_refresh(:prefix)"), {"prefix": prefix}
            ).scalar_one()
        )
    with session_or_conn.cursor() as cur:  # psycopg
        cur.execute(_REFRESH, (prefix,))
        row = cur.fetchone()
    return int(row[0]) if row else 0
