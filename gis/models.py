"""Typed SQLAlchemy models of the gridgov schema.

The schema itself (constraints, triggers, indexes) is defined by the Alembic migrations in
``gis/migrations``; these classes map it for Python. ``tests/gis/test_migrations.py`` checks that
the two agree.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326


class Base(DeclarativeBase):
    pass


def _geometry(kind: str) -> Geometry:
    # Indexes are created by the migration, not by the column type.
    return Geometry(kind, srid=SRID, spatial_index=False)


class Person(Base):
    """Someone who holds a post: grid chief, grid worker, instructor, secretary."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    gender: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))


class Area(Base):
    """One version of a district, street, community or grid."""

    __tablename__ = "area"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    level: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTIPOLYGON"))
    # Geodesic area, computed by PostgreSQL whenever geom is written (migration 0026).
    area_km2: Mapped[float] = mapped_column(
        Double, Computed("ST_Area(geom::geography) / 1e6", persisted=True)
    )
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    parent: Mapped[Area | None] = relationship(remote_side=[id])
    staff: Mapped[list[GridStaff]] = relationship(back_populates="area")


class GridStaff(Base):
    """一长两员: a person's post in a grid (chief, worker or instructor)."""

    __tablename__ = "grid_staff"
    area_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Text, primary_key=True)

    area: Mapped[Area] = relationship(back_populates="staff")
    person: Mapped[Person] = relationship()


class Building(Base):
    __tablename__ = "building"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    use: Mapped[str] = mapped_column(Text)
    floors: Mapped[int] = mapped_column(SmallInteger)
    units: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("area.id", ondelete="RESTRICT"))
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTIPOLYGON"))
    anchor: Mapped[WKBElement] = mapped_column(
        _geometry("POINT"), Computed("ST_PointOnSurface(geom)", persisted=True)
    )
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Household(Base):
    __tablename__ = "household"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building.id", ondelete="RESTRICT")
    )
    unit: Mapped[int] = mapped_column(SmallInteger)
    floor: Mapped[int] = mapped_column(SmallInteger)
    room: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))


class Resident(Base):
    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    gender: Mapped[str] = mapped_column(Text)
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    id_number: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    relation: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    # Added by migration 0023_special_groups: keys of gis.special_groups.SPECIAL_GROUPS.
    special_groups: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")


class PartyOrg(Base):
    """A party organisation at one of four levels: street, community, grid, building (the fifth
    link of the chain, 党员中心户, is a household role: gis/party/models.py)."""

    __tablename__ = "party_org"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    org_type: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="RESTRICT")
    )
    area_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    building_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("building.id", ondelete="RESTRICT")
    )
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="RESTRICT")
    )
    secretary_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="SET NULL")
    )
    founded_on: Mapped[date | None] = mapped_column(Date)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))


class PartyMember(Base):
    __tablename__ = "party_member"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="CASCADE"), unique=True
    )
    # The member's 支部 (a 党支部); NULL only when his relation was transferred out of the
    # register (external_org names where it is). Migration 0034_party_members.
    org_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="RESTRICT")
    )
    joined_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="正式党员")
    in_service: Mapped[bool] = mapped_column(Boolean, server_default="false")
    work_unit: Mapped[str | None] = mapped_column(Text)
    registered_community_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="SET NULL")
    )
    registered_on: Mapped[date | None] = mapped_column(Date)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    group_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_org.id", ondelete="SET NULL")
    )
    external_org: Mapped[str | None] = mapped_column(Text)
    care_flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")


class ServiceFacility(Base):
    __tablename__ = "service_facility"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    area_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("area.id", ondelete="RESTRICT"))
    address: Mapped[str] = mapped_column(Text)
    opening_hours: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))


class Incident(Base):
    """A case (事件/案卷) in the digital urban-management loop."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="reported")
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))
    address: Mapped[str | None] = mapped_column(Text)
    street_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    community_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    grid_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    district_code: Mapped[str] = mapped_column(CHAR(6))
    assignee_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="SET NULL")
    )
    rework_count: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Added by migration 0004_incidents: the workflow, Open311 and escalation fields.
    resolution: Mapped[str | None] = mapped_column(Text)
    dispatched_to: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[str] = mapped_column(Text, server_default="grid")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added by migration 0022_working_time: the deadline a due_soon event was sent for.
    due_soon_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reporter_email: Mapped[str | None] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    token: Mapped[uuid.UUID] = mapped_column(
        Uuid, server_default=func.gen_random_uuid(), default=uuid.uuid4
    )
    # Migration 0021_case_workflow: while suspended (挂起), the status to resume and since when.
    suspended_from: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IncidentTransition(Base):
    __tablename__ = "incident_transition"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    # Internal: note and attachments. Public (Open311, anonymous readers): these two.
    public_note: Mapped[str | None] = mapped_column(Text)
    public_attachments: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    # The workflow step taken (gis/incidents/workflow.py's action; migration 0020).
    action: Mapped[str | None] = mapped_column(Text)


class AppUser(Base):
    """An account: a role and an area scope (the subtree of ``scope_code``)."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    scope_code: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # A resident's account: his household (required for role resident, migration 0032) and, when
    # known, his own resident record.
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="SET NULL")
    )
    resident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("resident.id", ondelete="SET NULL")
    )
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # A party member's account acts as this member record and only as it (0034_party_members).
    member_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_member.id", ondelete="SET NULL"), unique=True
    )


class DatasetLoad(Base):
    """A record that a named dataset (the demo city) has been loaded."""

    __tablename__ = "dataset_load"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
