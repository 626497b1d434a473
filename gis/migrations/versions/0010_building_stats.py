"""Building statistics: precomputed per-building household, resident and member counts.

Revision ID: 0010_building_stats
Revises: 0008_area_stats
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0010_building_stats"
down_revision: str | Sequence[str] | None = "0008_area_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0010_building_stats_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("area_stats_refresh_0008.sql"))  # no longer calls building_stats_refresh
    op.execute(read_sql("0010_building_stats_down.sql"))
