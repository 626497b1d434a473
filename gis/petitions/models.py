"""Models of the petition tables (migration 0036_petitions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, BigInteger, DateTime, ForeignKey, SmallInteger, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class Petition(Base):
    __tablename__ = "petition"
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('incident_id_seq')")
    )
    code: Mapped[str] = mapped_column(Text, unique=True)
    petition_type: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", ondelete="SET NULL")
    )
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="SET NULL")
    )
    petitioner_name: Mapped[str | None] = mapped_column(Text)
    petitioner_phone: Mapped[str | None] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    street_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("area.id", ondelete="RESTRICT"))
    district_code: Mapped[str] = mapped_column(CHAR(6))
    status: Mapped[str] = mapped_column(Text, server_default="submitted")
    escalation_level: Mapped[str] = mapped_column(Text, server_default="community")
    assigned_to: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PetitionTransition(Base):
    __tablename__ = "petition_transition"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    petition_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("petition.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    public_note: Mapped[str | None] = mapped_column(Text)
