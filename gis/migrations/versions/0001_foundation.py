"""Foundation: the area hierarchy, buildings, households, party, facilities, incidents, users.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0001_foundation_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0001_foundation_down.sql"))
