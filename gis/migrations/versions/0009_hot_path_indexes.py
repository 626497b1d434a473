"""Hot-path indexes: open incidents by location (duplicate check), 党群服务中心 by location.

Revision ID: 0009_hot_path_indexes
Revises: 0007_incident_events
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0009_hot_path_indexes"
down_revision: str | Sequence[str] | None = "0007_incident_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0009_hot_path_indexes_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0009_hot_path_indexes_down.sql"))
