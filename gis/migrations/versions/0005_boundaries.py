"""Boundary editing: changesets, their operations, and the lineage of grid versions.

Revision ID: 0005_boundaries
Revises: 0001_foundation
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0005_boundaries"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0005_boundaries_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0005_boundaries_down.sql"))
