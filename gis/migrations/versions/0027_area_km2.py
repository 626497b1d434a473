"""Area versions carry their geodesic area in km² (a stored generated column).

Revision ID: 0027_area_km2
Revises: 0026_org_life
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0027_area_km2"
down_revision: str | Sequence[str] | None = "0026_org_life"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0027_area_km2_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0027_area_km2_down.sql"))
