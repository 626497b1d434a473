"""The model of the ``media`` table (migration 0018)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import SRID, Base


class Media(Base):
    """A stored photo: its content keys, what it is, who uploaded it and what it belongs to."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sha256: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumbnail_sha256: Mapped[str] = mapped_column(Text)
    thumbnail_bytes: Mapped[int] = mapped_column(Integer)
    geom: Mapped[object | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=True
    )
    uploaded_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", ondelete="SET NULL")
    )
    uploader: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    incident_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident.id", ondelete="CASCADE")
    )
    transition_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incident_transition.id", ondelete="CASCADE")
    )
    public: Mapped[bool] = mapped_column(Boolean, server_default="false")
    attached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The phone's own id of the upload (migration 0029): a photo queued offline is stored once.
    client_id: Mapped[str | None] = mapped_column(Text)
