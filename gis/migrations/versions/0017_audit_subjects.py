"""Audit rows name the people they disclosed (subjects) and the area of a bulk read.

Revision ID: 0017_audit_subjects
Revises: 0016_public_notes
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0017_audit_subjects"
down_revision: str | Sequence[str] | None = "0016_public_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0017_audit_subjects_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0017_audit_subjects_down.sql"))
