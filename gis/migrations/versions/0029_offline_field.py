"""The phone's own ids of patrols and uploads, so a patrol started and photos taken offline
are stored once (docs/field-work.md).

Revision ID: 0029_offline_field
Revises: 0028_field_work
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0029_offline_field"
down_revision: str | Sequence[str] | None = "0028_field_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0029_offline_field_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0029_offline_field_down.sql"))
