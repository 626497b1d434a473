"""Security: the append-only audit log and API clients.

Revision ID: 0002_security
Revises: 0001_foundation
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0002_security"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0002_security_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0002_security_down.sql"))
