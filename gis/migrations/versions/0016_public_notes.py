"""Public and internal notes on incident steps; existing notes become internal.

Revision ID: 0016_public_notes
Revises: 0015_incident_event_notify
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0016_public_notes"
down_revision: str | Sequence[str] | None = "0015_incident_event_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0016_public_notes_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0016_public_notes_down.sql"))
