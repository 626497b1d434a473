"""The case workflow of a digital urban-management centre: 受理 apart from 立案, 核查通过 apart
from 结案, 挂起/恢复 that pauses the deadline clock, 延期申请 and its decision, and who verifies
per category (separation of duties). Replaces the vocabulary functions of 0012 and rebuilds what
was built on them.

Revision ID: 0021_case_workflow
Revises: 0020_incident_source_code
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from gis.sqlfiles import read_sql

revision: str = "0021_case_workflow"
down_revision: str | Sequence[str] | None = "0020_incident_source_code"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(read_sql("0021_case_workflow_up.sql"))
    op.execute(read_sql("0020_vocabulary_indexes.sql"))


def downgrade() -> None:
    op.execute(read_sql("0021_case_workflow_down.sql"))
    op.execute(read_sql("0020_vocabulary_indexes.sql"))
