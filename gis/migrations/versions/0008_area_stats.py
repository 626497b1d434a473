"""Area statistics: precomputed per-area counts and a one-row data version for the tile cache.

Revision ID: 0008_area_stats
Revises: 0006_performance
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0008_area_stats"
down_revision: str | Sequence[str] | None = "0006_performance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The refresh function first (a PL/pgSQL body is checked when it runs, not when created):
    # the up script ends by calling it.
    op.execute(read_sql("area_stats_refresh_0008.sql"))
    op.execute(read_sql("0008_area_stats_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0008_area_stats_down.sql"))
