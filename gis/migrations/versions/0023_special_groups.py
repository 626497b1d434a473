"""Residents carry the special groups the grid looks after (独居老人、困难群众 …).

Revision ID: 0023_special_groups
Revises: 0022_working_time
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0023_special_groups"
down_revision: str | Sequence[str] | None = "0022_working_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0023_special_groups_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0023_special_groups_down.sql"))
