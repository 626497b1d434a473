"""Models of the security tables: the append-only audit log and API clients (migration 0002),
sign-in sessions and per-address sign-in failures (migration 0014)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class AuditEntry(Base):
    """One audit record: who did what to which target, when and for what purpose.

    The table is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    username: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    scope_code: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    subjects: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    area_code: Mapped[str | None] = mapped_column(Text)


class ApiClient(Base):
    """A program allowed to write to the public surfaces (Open311 POST) with an api_key."""

    __tablename__ = "api_client"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    key_digest: Mapped[str] = mapped_column(CHAR(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthSession(Base):
    """One sign-in: access tokens and the session cookie name it; revoking it ends them."""

    __tablename__ = "auth_session"
    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    refresh_digest: Mapped[str | None] = mapped_column(CHAR(64))
    client: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class SignInThrottle(Base):
    """Failed sign-ins from one source address, over every username."""

    __tablename__ = "sign_in_throttle"
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_failure_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PhoneVerification(Base):
    """A code sent to a resident's phone for self-registration (migration 0032, gis/phone_codes)."""

    __tablename__ = "phone_verification"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    phone: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
