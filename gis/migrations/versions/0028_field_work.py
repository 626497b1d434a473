"""Patrols, their track points and findings, and household visits.

Revision ID: 0028_field_work
Revises: 0027_area_km2
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0028_field_work"
down_revision: str | Sequence[str] | None = "0027_area_km2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0028_field_work_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0028_field_work_down.sql"))
