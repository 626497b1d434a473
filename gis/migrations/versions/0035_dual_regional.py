"""双报到 and regional party building: units, agreements, resources, committee seats.

Revision ID: 0035_dual_regional
Revises: 0034_party_members
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0035_dual_regional"
down_revision: str | Sequence[str] | None = "0034_party_members"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0035_dual_regional_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0035_dual_regional_down.sql"))
