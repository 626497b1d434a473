"""Models of organisational life's tables (migration 0026_org_life)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class OrgMeeting(Base):
    """One meeting of 三会一课 or a 主题党日, held by a branch or one of its 党小组."""

    __tablename__ = "org_meeting"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    branch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="SET NULL")
    )
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="SET NULL")
    )
    branch_code: Mapped[str] = mapped_column(Text)
    org_code: Mapped[str] = mapped_column(Text)
    org_name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    minutes: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(Text)


class OrgMeetingAttendance(Base):
    """Whether a member of the branch was present, absent or on leave at a meeting."""

    __tablename__ = "org_meeting_attendance"
    meeting_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("org_meeting.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(Text)
