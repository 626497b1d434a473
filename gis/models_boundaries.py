"""SQLAlchemy models of boundary editing: changesets, operations, lineage (migration 0005)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class Changeset(Base):
    """A draft or committed set of boundary operations on one community or street."""

    __tablename__ = "changeset"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope_code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(Text, server_default="draft")
    base: Mapped[dict[str, Any]] = mapped_column(JSONB)
    head: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    committed_by: Mapped[str | None] = mapped_column(Text)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reverts_changeset_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("changeset.id", ondelete="RESTRICT")
    )


class ChangesetOperation(Base):
    __tablename__ = "changeset_operation"
    changeset_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("changeset.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChangesetArea(Base):
    """An area version a committed changeset retired or created."""

    __tablename__ = "changeset_area"
    changeset_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("changeset.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Text)


class AreaLineage(Base):
    """Predecessor → successor between grid versions, with the share of area and households."""

    __tablename__ = "area_lineage"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    changeset_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("changeset.id", ondelete="CASCADE")
    )
    predecessor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    successor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(Text)
    area_share: Mapped[float] = mapped_column(DOUBLE_PRECISION)
    area_m2: Mapped[float] = mapped_column(DOUBLE_PRECISION)
    households_moved: Mapped[int] = mapped_column(Integer)
    buildings_moved: Mapped[int] = mapped_column(Integer)


class ChangesetAttachment(Base):
    """An attachment a commit changed that does not follow a location (migration 0020).

    Grid party branches moved, created or dissolved, party members and building party groups
    re-pointed to the branch of their new grid; a revert replays these backwards.
    """

    __tablename__ = "changeset_attachment"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    changeset_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("changeset.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str | None] = mapped_column(Text)
    old_value: Mapped[int | None] = mapped_column(BigInteger)
    new_value: Mapped[int | None] = mapped_column(BigInteger)
    row_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
