"""``grid_at(point)``: the one point → grid rule (comprehensive grid first, then lowest code).

Revision ID: 0013_grid_at
Revises: 0012_incident_vocabulary
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0013_grid_at"
down_revision: str | Sequence[str] | None = "0012_incident_vocabulary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0013_grid_at_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0013_grid_at_down.sql"))
