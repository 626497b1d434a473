"""``/api/v1/regional``: regional party building (区域化党建).

Units (驻区单位, 共建单位, 两新组织, 商圈党委, 红色物业, 业委会) are public facts on the e-map;
共建协议, 大党委/大工委 seats, the community's 一单一库一函一评一表 lists and the area panel are for
the party-work roles in their scope; signing an agreement is the community organisers'.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.security import SignedInViewerDep, ViewerDep, scope_decision
from gis.errors import InvalidInput
from gis.orglife.meetings import local_today
from gis.regional import panel, units, vocabulary

router = APIRouter(tags=["regional party building"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role has no access, or the area is out of scope"},
}
AREA_CODE = r"^[0-9]{6}([0-9]{6}([0-9]{3})?)?$"
UNIT_CODE = r"^DW[0-9]{6,24}$"
Layer = Literal["resident", "joint", "two_new", "red_property"]
ResourceCategory = Literal["场地", "人才", "资金", "物资", "技术", "志愿服务"]


class ResourceOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: ResourceCategory
    description: str = Field(min_length=1, max_length=500, pattern=r"\S")


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_code: str = Field(pattern=UNIT_CODE)
    community_code: str = Field(pattern=r"^[0-9]{12}$")
    signed_on: datetime.date
    starts_on: datetime.date
    ends_on: datetime.date
    content: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    resources: list[ResourceOffer] = Field(default_factory=list, max_length=50)


@router.get("/regional/vocabulary", openapi_extra=scope_decision("public"))
def get_vocabulary() -> dict[str, Any]:
    """Unit kinds, 两新组织 kinds, resource categories, committee posts, map layers."""
    return vocabulary.for_pages()


@router.get("/regional/units", openapi_extra=scope_decision("public"))
def list_units(
    session: SessionDep,
    layer: Layer | None = None,
    within: Annotated[str | None, Query(pattern=AREA_CODE)] = None,
    bbox: Annotated[
        str | None,
        Query(pattern=r"^-?[0-9.]{1,20}(,-?[0-9.]{1,20}){3}$", description="west,south,east,north"),
    ] = None,
) -> JSONResponse:
    """Units as GeoJSON for the e-map (one layer's, or all), bbox-limited."""
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    except ValueError:
        raise InvalidInput(
            "bbox is four numbers: west,south,east,north in degrees", parameter="bbox"
        ) from None
    collection = units.unit_features(
        session,
        today=local_today(),
        layer=layer,
        within=within,
        bbox=box,  # type: ignore[arg-type]
    )
    return JSONResponse(collection, media_type="application/geo+json")


@router.get(
    "/regional/units/{code}",
    responses={404: {"description": "No such unit"}},
    openapi_extra=scope_decision("public"),
)
def get_unit(
    viewer: ViewerDep, session: SessionDep, code: Annotated[str, Path(pattern=UNIT_CODE)]
) -> dict[str, Any]:
    """One unit: agreements, resources, buildings served, committee seats (masked), projects."""
    return units.get_unit(session, viewer, code, today=local_today())


@router.post(
    "/regional/agreements",
    status_code=201,
    responses=ERRORS,
    openapi_extra=scope_decision("scoped"),
)
def create_agreement(
    viewer: SignedInViewerDep, session: SessionDep, body: AgreementCreate
) -> dict[str, Any]:
    """Sign a 共建协议 between a unit and a community, with the resources it offers (资源清单)."""
    return units.create_agreement(
        session,
        viewer,
        unit_code=body.unit_code,
        community_code=body.community_code,
        signed_on=body.signed_on,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        content=body.content.strip(),
        resources=[(r.category, r.description.strip()) for r in body.resources],
        today=local_today(),
    )


@router.get("/regional/committees", responses=ERRORS, openapi_extra=scope_decision("scoped"))
def list_committees(
    viewer: SignedInViewerDep,
    session: SessionDep,
    within: Annotated[str | None, Query(pattern=AREA_CODE)] = None,
) -> dict[str, Any]:
    """大党委 / 大工委 in scope with their part-time members (兼职委员, names masked)."""
    return units.committees(session, viewer, within)


@router.get(
    "/regional/communities/{code}/lists",
    responses=ERRORS,
    openapi_extra=scope_decision("scoped"),
)
def community_lists(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=r"^[0-9]{12}$")],
) -> dict[str, Any]:
    """一单一库一函一评一表: the community's needs, resources, projects (letters, ratings)."""
    return units.community_lists(session, viewer, code)


@router.get(
    "/regional/areas/{code}/panel", responses=ERRORS, openapi_extra=scope_decision("scoped")
)
def area_panel(
    viewer: SignedInViewerDep,
    session: SessionDep,
    code: Annotated[str, Path(pattern=AREA_CODE)],
) -> dict[str, Any]:
    """The e-map panel: members by type, 双报到 coverage, 三会一课 completeness, units per layer."""
    return panel.area_panel(session, viewer, code, today=local_today())
