"""Models of the mediation tables (migration 0036_petitions)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class Dispute(Base):
    __tablename__ = "dispute"
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('incident_id_seq')")
    )
    code: Mapped[str] = mapped_column(Text, unique=True)
    dispute_type: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    street_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("area.id", ondelete="RESTRICT"))
    district_code: Mapped[str] = mapped_column(CHAR(6))
    level: Mapped[str] = mapped_column(Text, server_default="grid")
    level_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mediator: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="registered")
    registered_by: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DisputeParty(Base):
    __tablename__ = "dispute_party"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dispute.id", ondelete="CASCADE")
    )
    side: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)
    resident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="SET NULL")
    )


class DisputeSession(Base):
    __tablename__ = "dispute_session"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dispute.id", ondelete="CASCADE")
    )
    level: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mediator: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)


class DisputeAgreement(Base):
    __tablename__ = "dispute_agreement"
    dispute_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dispute.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    terms: Mapped[str] = mapped_column(Text)
    fulfil_by: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(Text)


class DisputeFollowup(Base):
    __tablename__ = "dispute_followup"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dispute.id", ondelete="CASCADE")
    )
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fulfilled: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)


class DisputeTransition(Base):
    __tablename__ = "dispute_transition"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dispute.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
