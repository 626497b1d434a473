"""Models of migration 0006_performance: the subdivided grid lookup table used for routing."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CHAR, BigInteger, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import SRID, Base


class GridLookup(Base):
    """One piece (at most 64 vertices) of a current grid; maintained by a trigger on ``area``."""

    __tablename__ = "grid_lookup"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("area.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=SRID, spatial_index=False))
