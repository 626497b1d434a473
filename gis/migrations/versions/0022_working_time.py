"""Working time: rule units in office hours, due_soon bookkeeping, the shipped holiday schedules.

Revision ID: 0022_working_time
Revises: 0021_case_workflow
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.incidents.holidays import load_shipped, shipped
from gis.sqlfiles import read_sql

revision: str = "0022_working_time"
down_revision: str | Sequence[str] | None = "0021_case_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0022_working_time_up.sql"))
    # The State Council schedules gridgov ships; `gridgov migrate` adds later shipped years.
    load_shipped(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    # Only the rows exactly as shipped: days an admin added or changed stay.
    for day in shipped():
        bind.exec_driver_sql(
            "DELETE FROM holiday WHERE day = %(day)s AND name = %(name)s "
            "AND is_workday = %(is_workday)s",
            {"day": day.day, "name": day.name, "is_workday": day.is_workday},
        )
    op.execute(read_sql("0022_working_time_down.sql"))
