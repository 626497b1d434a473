"""The live stream is woken by NOTIFY from incident_event inserts.

Revision ID: 0015_incident_event_notify
Revises: 0014_auth_sessions
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0015_incident_event_notify"
down_revision: str | Sequence[str] | None = "0014_auth_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0015_incident_event_notify_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0015_incident_event_notify_down.sql"))
