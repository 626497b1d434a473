"""Models of the incident workflow's own tables (migration 0004_incidents).

The columns 0004 adds to ``incident`` itself are mapped on :class:`gis.models.Incident`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    CHAR,
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import SRID, Base


class IncidentDeadlineRule(Base):
    """Time limits of one category: accept, dispatch (minutes), handle (hours)."""

    __tablename__ = "incident_deadline_rule"
    category: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    accept_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    dispatch_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    handle_hours: Mapped[int] = mapped_column(Integer)
    calendar_time: Mapped[bool] = mapped_column(Boolean, server_default="false")
    escalate_every_hours: Mapped[int] = mapped_column(Integer, server_default="7")
    # Who verifies (核查) this category's handled cases: community or centre
    # (migration 0021_case_workflow).
    verified_by: Mapped[str] = mapped_column(Text, server_default="centre")


class Holiday(Base):
    """A public holiday, or a weekend day worked in exchange (调休, ``is_workday``)."""

    __tablename__ = "holiday"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    is_workday: Mapped[bool] = mapped_column(Boolean, server_default="false")


class IncidentDuplicate(Base):
    __tablename__ = "incident_duplicate"
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    duplicate_of: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    linked_by: Mapped[str] = mapped_column(Text)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    endpoint: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IncidentEscalation(Base):
    __tablename__ = "incident_escalation"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    from_level: Mapped[str] = mapped_column(Text)
    to_level: Mapped[str] = mapped_column(Text)
    area_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IncidentExtension(Base):
    """A deadline-extension request (延期申请) and its decision (migration 0021_case_workflow)."""

    __tablename__ = "incident_extension"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    requested_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    previous_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_note: Mapped[str | None] = mapped_column(Text)


class IncidentEvent(Base):
    """One entry of the change log the live stream replays.

    Events are delivered in (xid, id) order once every older transaction has finished, so a
    resumed stream never skips or repeats one (docs/incidents.md, "SSE").
    """

    __tablename__ = "incident_event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # The writing transaction (migration 0007); filled by the column default.
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id())::text::bigint")
    )


class ServiceOrder(Base):
    """群众点单: a service a resident ordered, published by the party org, done by a member."""

    __tablename__ = "service_order"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    service_type: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(Text)
    requester_phone: Mapped[str | None] = mapped_column(Text)
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="RESTRICT")
    )
    member_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text, server_default="ordered")
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False)
    )
    district_code: Mapped[str] = mapped_column(CHAR(6))
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # 双报到 needs and posts, projects assigned by letter (migration 0034, gis/dual/).
    origin: Mapped[str] = mapped_column(Text, server_default="resident")
    title: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("regional_unit.id", ondelete="RESTRICT")
    )
    agreement_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("joint_agreement.id", ondelete="SET NULL")
    )
    letter_code: Mapped[str | None] = mapped_column(Text, unique=True)
    hours: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    community_rating: Mapped[int | None] = mapped_column(SmallInteger)
    community_comment: Mapped[str | None] = mapped_column(Text)


class ServiceOrderTransition(Base):
    __tablename__ = "service_order_transition"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service_order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_order.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
