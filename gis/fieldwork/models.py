"""The models of the field-work tables (migrations 0028_field_work, 0029_offline_field)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, REAL, BigInteger, DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import SRID, Base


def _point() -> Geometry:
    return Geometry("POINT", srid=SRID, spatial_index=False)


class Patrol(Base):
    """One patrol (巡查) of a worker in a grid, open until it ends."""

    __tablename__ = "patrol"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("app_user.id", ondelete="RESTRICT"))
    worker: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="SET NULL")
    )
    grid_code: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The phone's own id of the patrol (migration 0029): a start queued offline is stored once.
    client_id: Mapped[str | None] = mapped_column(Text)


class PatrolPoint(Base):
    """One sampled position of a patrol's track, keyed by the phone's own id for it."""

    __tablename__ = "patrol_point"
    patrol_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("patrol.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    geom: Mapped[object] = mapped_column(_point())


class PatrolFinding(Base):
    """Something the worker found on a patrol; it may become a case."""

    __tablename__ = "patrol_finding"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("patrol.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    description: Mapped[str] = mapped_column(Text)
    geom: Mapped[object] = mapped_column(_point())
    media: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="SET NULL")
    )
    client_id: Mapped[str | None] = mapped_column(Text)


class HouseholdVisit(Base):
    """A household visit (入户走访): where, why, what was said and whom the worker met."""

    __tablename__ = "household_visit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("app_user.id", ondelete="RESTRICT"))
    worker: Mapped[str] = mapped_column(Text)
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building.id", ondelete="RESTRICT")
    )
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("household.id", ondelete="RESTRICT")
    )
    grid_code: Mapped[str] = mapped_column(Text)
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, server_default="")
    people_met: Mapped[str] = mapped_column(Text, server_default="")
    geom: Mapped[object | None] = mapped_column(_point(), nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(REAL)
    client_id: Mapped[str | None] = mapped_column(Text)
