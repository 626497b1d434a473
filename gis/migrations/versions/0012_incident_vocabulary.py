"""The incident vocabulary as IMMUTABLE SQL functions; constraints and partial indexes use them.

The owner is ``gis/incidents/vocabulary.py``; this is the database's copy, which
``tests/gis/incidents/test_vocabulary.py`` compares with it.

Revision ID: 0012_incident_vocabulary
Revises: 0011_one_line
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0012_incident_vocabulary"
down_revision: str | Sequence[str] | None = "0011_one_line"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0012_incident_vocabulary_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0012_incident_vocabulary_down.sql"))
