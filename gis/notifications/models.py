"""Models of the notification tables (migration 0019_notifications)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class Notification(Base):
    """One account told of one incident event (the in-app notification centre)."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("app_user.id", ondelete="CASCADE")
    )
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident_event.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationDelivery(Base):
    """One message for one outside channel (the outbox)."""

    __tablename__ = "notification_delivery"
    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    channel: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident_event.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(Text)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationAttempt(Base):
    """One try at sending a delivery: what came of it."""

    __tablename__ = "notification_attempt"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notification_delivery.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
