"""Public and internal notes on incident steps; existing notes become internal.

Revision ID: 0014_public_notes
Revises: the heads of 0002, 0005, 0009 and 0010 (to be re-chained after 0011_merge_heads)
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0014_public_notes"
# Until the merge revision 0011_merge_heads lands on main this revision joins the open heads
# itself; the lead re-chains it to down_revision = "0011_merge_heads" when merging.
down_revision: str | Sequence[str] | None = (
    "0002_security",
    "0005_boundaries",
    "0009_hot_path_indexes",
    "0010_building_stats",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0014_public_notes_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0014_public_notes_down.sql"))
