"""At most one grid party branch per grid; what a boundary commit re-attached, for revert.

Revision ID: 0024_grid_branch_attachments
Revises: 0023_special_groups
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0024_grid_branch_attachments"
down_revision: str | Sequence[str] | None = "0023_special_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0024_grid_branch_attachments_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0024_grid_branch_attachments_down.sql"))
