"""Models of the residents' tables (migration 0033_residents; docs/residents.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base

_NOW = func.now()


def _when() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=_NOW)


class Notice(Base):
    """A notice (居民通知) to an area, or to a special group within it."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    area_code: Mapped[str] = mapped_column(Text)
    special_group: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = _when()
    expires_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(Text)


class NoticeReceipt(Base):
    """A resident confirmed reading a notice (已读回执)."""

    __tablename__ = "notice_receipt"
    notice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True
    )
    resident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = _when()
    via: Mapped[str] = mapped_column(Text)


class ResidentService(Base):
    """A service residents apply for at their community (事项办理)."""

    __tablename__ = "resident_service"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    materials: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    working_days: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")


class ServiceApplication(Base):
    """A resident's application for a service, handled by his community."""

    __tablename__ = "service_application"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident_service.id", ondelete="RESTRICT")
    )
    resident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="CASCADE")
    )
    community_code: Mapped[str] = mapped_column(Text)
    grid_code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="submitted")
    note: Mapped[str] = mapped_column(Text, server_default="")
    submitted_at: Mapped[datetime] = _when()
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(Text, server_default="")
    via: Mapped[str] = mapped_column(Text)


class ServiceApplicationStep(Base):
    """One step of an application's status history."""

    __tablename__ = "service_application_step"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_application.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = _when()
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, server_default="")


class VolunteerTeam(Base):
    """A volunteer team (志愿服务队) of a community."""

    __tablename__ = "volunteer_team"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _when()


class VolunteerActivity(Base):
    """A volunteer activity: sign-up, check-in on site, hours and points when completed."""

    __tablename__ = "volunteer_activity"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("volunteer_team.id", ondelete="RESTRICT")
    )
    community_code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    points: Mapped[int] = mapped_column(Integer)
    checkin_code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _when()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(Text)


class ActivitySignup(Base):
    """A resident signed up for an activity (and, on site, checked in)."""

    __tablename__ = "activity_signup"
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("volunteer_activity.id", ondelete="CASCADE"), primary_key=True
    )
    resident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True
    )
    signed_up_at: Mapped[datetime] = _when()
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(Text)


class PointsReward(Base):
    """Goods or a service a community gives for points."""

    __tablename__ = "points_reward"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    community_code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    points: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")


class PointsLedger(Base):
    """One entry of the append-only points ledger (爱心储蓄); a redemption is negative."""

    __tablename__ = "points_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger)
    community_code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    delta: Mapped[int] = mapped_column(Integer)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), server_default="0")
    activity_id: Mapped[int | None] = mapped_column(BigInteger)
    reward_id: Mapped[int | None] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, server_default="")
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = _when()
