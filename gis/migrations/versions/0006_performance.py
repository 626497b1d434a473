"""Performance: the subdivided grid lookup table and current-version partial GiST indexes.

Revision ID: 0006_performance
Revises: 0001_foundation
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0006_performance"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0006_performance_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0006_performance_down.sql"))
