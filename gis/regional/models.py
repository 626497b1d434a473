"""Models of regional party building's tables (migration 0035_dual_regional)."""

from __future__ import annotations

from datetime import date

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CHAR, BigInteger, Boolean, Date, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from gis.models import SRID, Base


class RegionalUnit(Base):
    """A unit outside the five-level chain: 机关企事业单位, 两新组织, 商圈党委, 物业企业, 业委会."""

    __tablename__ = "regional_unit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    party_org_name: Mapped[str | None] = mapped_column(Text)
    party_members: Mapped[int] = mapped_column(Integer, server_default="0")
    resident: Mapped[bool] = mapped_column(Boolean, server_default="false")
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    address: Mapped[str] = mapped_column(Text)
    registered_community_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="SET NULL")
    )
    registered_on: Mapped[date | None] = mapped_column(Date)
    district_code: Mapped[str] = mapped_column(CHAR(6))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))


class RegionalUnitBuilding(Base):
    """A building a 物业企业 or 业委会 serves (its compound, 小区)."""

    __tablename__ = "regional_unit_building"
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("regional_unit.id", ondelete="CASCADE"), primary_key=True
    )
    building_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("building.id", ondelete="CASCADE"), primary_key=True
    )


class JointAgreement(Base):
    """共建协议 between a unit and a community, for a term."""

    __tablename__ = "joint_agreement"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("regional_unit.id", ondelete="CASCADE")
    )
    community_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("area.id", ondelete="RESTRICT")
    )
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(CHAR(6))


class RegionalResource(Base):
    """资源清单: one resource a unit offers (under an agreement or in general)."""

    __tablename__ = "regional_resource"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("regional_unit.id", ondelete="CASCADE")
    )
    agreement_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("joint_agreement.id", ondelete="CASCADE")
    )
    category: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)


class RegionalCommitteeSeat(Base):
    """A part-time member (兼职委员) of a 大党委/大工委, sent by a resident unit."""

    __tablename__ = "regional_committee_seat"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("party_org.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("regional_unit.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(Text)
    post: Mapped[str] = mapped_column(Text)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
