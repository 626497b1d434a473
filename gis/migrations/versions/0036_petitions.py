"""Resident accounts, petitions (诉求) and dispute mediation (三级调解) as case kinds.

Revision ID: 0036_petitions
Revises: 0035_dual_regional
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0036_petitions"
down_revision: str | Sequence[str] | None = "0035_dual_regional"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0036_petitions_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0036_petitions_down.sql"))
