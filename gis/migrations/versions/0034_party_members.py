"""The party chain made right and the member register.

镇党委 for a town, 党员中心户 as a role of a member household, one 支部 per member; transfers,
流动党员, care records, learning records; member accounts linked to their member record.

Revision ID: 0034_party_members
Revises: 0033_residents
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0034_party_members"
down_revision: str | Sequence[str] | None = "0033_residents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0034_party_members_up.sql"))


def downgrade() -> None:
    op.execute(read_sql("0034_party_members_down.sql"))
