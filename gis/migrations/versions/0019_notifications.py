"""Notifications: the in-app notification centre and the outbox of deliveries.

Revision ID: 0019_notifications
Revises: 0018_media
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0019_notifications"
down_revision: str | Sequence[str] | None = "0018_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0019_notifications_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0019_notifications_down.sql"))
