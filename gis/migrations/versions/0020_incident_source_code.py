"""Imported cases keep their source system's code (attributes.source_code), found by an index.

Every case has a code in the one format of gis.incidents.intake.case_code; an import from
another system keeps that system's code beside it, and a re-import finds the case by it.

Revision ID: 0020_incident_source_code
Revises: 0019_notifications
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0020_incident_source_code"
down_revision: str | Sequence[str] | None = "0019_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0020_incident_source_code_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0020_incident_source_code_down.sql"))
