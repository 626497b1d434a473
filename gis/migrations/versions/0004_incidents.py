"""Incidents: deadlines, holidays, escalation, duplicates, idempotency, event log, service orders.

Revision ID: 0004_incidents
Revises: 0001_foundation
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0004_incidents"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0004_incidents_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0004_incidents_down.sql"))
