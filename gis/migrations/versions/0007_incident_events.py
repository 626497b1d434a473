"""Incident events: the writing transaction's id, so the stream needs no writers' lock.

Revision ID: 0007_incident_events
Revises: 0004_incidents
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0007_incident_events"
down_revision: str | Sequence[str] | None = "0004_incidents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0007_incident_events_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0007_incident_events_down.sql"))
