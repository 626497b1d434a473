"""Models of the member register's tables (migration 0034_party_members)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CHAR, BigInteger, Date, DateTime, ForeignKey, Numeric, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class CentralHousehold(Base):
    """党员中心户: a member's household that looks after named neighbouring households."""

    __tablename__ = "party_central_household"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="CASCADE"), unique=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE"), unique=True
    )
    named_on: Mapped[date] = mapped_column(Date)
    district_code: Mapped[str] = mapped_column(CHAR(6))


class CentralHouseholdServed(Base):
    __tablename__ = "party_central_household_served"
    central_household_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("party_central_household.id", ondelete="CASCADE"),
        primary_key=True,
    )
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    since: Mapped[date] = mapped_column(Date)


class MemberTransfer(Base):
    """组织关系转接: one step of a member's organisation relation (append-only)."""

    __tablename__ = "party_member_transfer"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(Text)
    from_org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="SET NULL")
    )
    from_org_name: Mapped[str] = mapped_column(Text)
    to_org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="SET NULL")
    )
    to_org_name: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    letter_no: Mapped[str | None] = mapped_column(Text)
    transferred_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class MemberAway(Base):
    """流动党员: a period a member lives away from home."""

    __tablename__ = "party_member_away"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE")
    )
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    host_org: Mapped[str | None] = mapped_column(Text)
    contact_note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CareRecord(Base):
    """困难党员 / 老党员 care: one visit, festival call, aid (append-only)."""

    __tablename__ = "party_care_record"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text)
    cared_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Course(Base):
    """学习教育: a course of the catalogue."""

    __tablename__ = "party_course"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    published_on: Mapped[date] = mapped_column(Date)


class LearningRecord(Base):
    __tablename__ = "party_learning_record"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="CASCADE")
    )
    course_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_course.id", ondelete="RESTRICT")
    )
    finished_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
