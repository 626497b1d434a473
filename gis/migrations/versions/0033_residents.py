"""Serving residents: notices, services, volunteers and the points ledger.

Revision ID: 0033_residents
Revises: 0029_offline_field
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0033_residents"
down_revision: str | Sequence[str] | None = "0029_offline_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0033_residents_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0033_residents_down.sql"))
