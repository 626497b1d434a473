"""Models of migrations 0008 and 0010: precomputed per-area and per-building counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import Base


class AreaStats(Base):
    """Counts of the current version of one area; kept by ``area_stats_refresh(prefix)``."""

    __tablename__ = "area_stats"
    area_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    grids: Mapped[int] = mapped_column(Integer, server_default="0")
    buildings: Mapped[int] = mapped_column(Integer, server_default="0")
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    residents: Mapped[int] = mapped_column(Integer, server_default="0")
    party_members: Mapped[int] = mapped_column(Integer, server_default="0")
    refreshed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DataVersion(Base):
    """The single row whose ``version`` statement-level triggers bump on every tiled write."""

    __tablename__ = "data_version"
    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")


class BuildingStats(Base):
    """Counts of the current version of one building; kept by ``building_stats_refresh``."""

    __tablename__ = "building_stats"
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building.id", ondelete="CASCADE"), primary_key=True
    )
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    residents: Mapped[int] = mapped_column(Integer, server_default="0")
    party_members: Mapped[int] = mapped_column(Integer, server_default="0")
