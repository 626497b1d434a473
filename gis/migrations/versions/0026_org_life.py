"""Organisational life: 三会一课 and 主题党日 meetings with attendance.

Revision ID: 0026_org_life
Revises: 0025_plan_create_grid
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0026_org_life"
down_revision: str | Sequence[str] | None = "0025_plan_create_grid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0026_org_life_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0026_org_life_down.sql"))
