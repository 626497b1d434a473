"""Join the feature branches into one line: from here on, migrations follow one another.

Until 0010 every feature branched from 0001_foundation and ``gridgov migrate`` upgraded all
heads. A single head makes the order of migrations explicit and lets ``alembic upgrade head``,
``gridgov migrate --down REV`` and ``/api/v1/health`` speak of one revision. Nothing changes
in the schema.

Revision ID: 0011_one_line
Revises: 0002_security, 0005_boundaries, 0009_hot_path_indexes, 0010_building_stats
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011_one_line"
# On one line, so that tools reading the file as text (not only Alembic) see the four parents.
down_revision = ("0002_security", "0005_boundaries", "0009_hot_path_indexes", "0010_building_stats")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
