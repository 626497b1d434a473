"""Request bodies of the incident and service-order endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gis.incidents.vocabulary import ENTERED_SOURCES, KINDS, REJECT_RESOLUTIONS, STATUSES
from gis.incidents.workflow import INCIDENT_WORKFLOW
from gis.media.records import MAX_PER_STEP as MAX_PHOTOS

# The id of a stored upload (a bigint): anything else is refused before it reaches SQL.
MediaId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# Enumerations from the vocabulary (validation and the OpenAPI enum); plain str to the type checker,
# which cannot read a Literal built from a tuple.
if TYPE_CHECKING:
    Kind = str
    Source = str
    TransitionTarget = str
    Resolution = str
    Action = str
else:
    Kind = Literal[KINDS]
    Source = Literal[ENTERED_SOURCES]
    # Every status but the one a case starts in can be stepped to.
    TransitionTarget = Literal[tuple(s for s in STATUSES if s != INCIDENT_WORKFLOW.initial)]
    Resolution = Literal[REJECT_RESOLUTIONS]
    # The workflow's action names (受理 accept, 立案 register, 派遣 dispatch, 延期申请 …).
    Action = Literal[tuple(dict.fromkeys(s.name for s in INCIDENT_WORKFLOW.steps))]


class PointGeometry(BaseModel):
    """A GeoJSON Point (lon, lat); ``crs`` on the request says which frame it is in."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)


class IncidentCreate(BaseModel):
    """A new report. The point is WGS84 unless ``crs`` says gcj02, bd09 or EPSG:xxxx."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(description="市容环境, 公用设施 …; the kind follows from it")
    kind: Kind | None = None
    description: str = Field(min_length=1, max_length=4000)
    geometry: PointGeometry
    crs: str | None = Field(default=None, description="gcj02, bd09 or EPSG:xxxx; default WGS84")
    address: str | None = Field(default=None, max_length=500)
    source: Source = "public"
    reporter_name: str | None = Field(default=None, max_length=50)
    reporter_phone: str | None = Field(default=None, max_length=20)
    media_url: str | None = Field(default=None, max_length=2000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    duplicate_of: int | None = Field(
        default=None, description="link this report to an open case instead of opening one"
    )
    media: list[MediaId] = Field(
        default_factory=list,
        max_length=MAX_PHOTOS,
        description="Ids of your uploads (POST /api/v1/media): the report's photos, published "
        "with the case",
    )


class TransitionCreate(BaseModel):
    """One step of the case loop, named by its ``action`` (the case's ``allowed_transitions``)
    or, for a step that changes the status, by the status it goes ``to``."""

    model_config = ConfigDict(extra="forbid")

    to: TransitionTarget | None = None
    action: Action | None = Field(
        default=None,
        description="The step: accept, refuse, register, reject, dispatch, redispatch, start, "
        "report_back, verify, rework, close, request_extension, approve_extension, "
        "refuse_extension, suspend, resume, evaluate",
    )
    note: str | None = Field(
        default=None,
        max_length=2000,
        description="Internal note for staff (calls made, names, ID numbers): never published",
    )
    attachments: list[str] = Field(
        default_factory=list, max_length=20, description="Internal attachments (http(s) URLs)"
    )
    public_note: str | None = Field(
        default=None,
        max_length=2000,
        description="Public note: what the reporter and any anonymous reader see (Open311 "
        "updates and status_notes). Write nothing personal here.",
    )
    public_attachments: list[str] = Field(
        default_factory=list, max_length=20, description="Public attachments (http(s) URLs)"
    )
    media: list[MediaId] = Field(
        default_factory=list,
        max_length=MAX_PHOTOS,
        description="Ids of your uploads (POST /api/v1/media) attached internally: seen by staff "
        "who have the case in scope (e.g. 处置反馈 photos)",
    )
    public_media: list[MediaId] = Field(
        default_factory=list,
        max_length=MAX_PHOTOS,
        description="Ids of your uploads attached publicly: published with the case (Open311)",
    )
    resolution: Resolution | None = None
    duplicate_of: int | None = None
    dispatched_to: str | None = Field(default=None, max_length=200)
    grid_code: str | None = Field(default=None, pattern=r"^[0-9]{15}$")
    area_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{12}$",
        description="Dispatch to this community or street office instead of a grid",
    )
    due_at: AwareDatetime | None = Field(
        default=None,
        description="dispatch: a handling deadline shorter than the category's limit; "
        "request_extension: the deadline asked for",
    )
    assignee_id: int | None = None
    rating: int | None = Field(default=None, ge=1, le=5)


class ServiceOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_type: Literal["养老照护", "维修", "代办", "助学", "心理疏导", "其他"]
    description: str = Field(min_length=1, max_length=2000)
    requester_name: str = Field(min_length=1, max_length=50)
    requester_phone: str | None = Field(default=None, pattern=r"^1[3-9][0-9]{9}$")
    community_code: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    geometry: PointGeometry | None = None
    crs: str | None = None


class ServiceOrderStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["published", "claimed", "done", "rated", "cancelled"]
    action: Literal["assign", "unit_done"] | None = Field(
        default=None,
        description="assign: the community assigns a need to a unit by letter (发函, to=claimed);"
        " unit_done: the community records the unit's completion (to=done)",
    )
    note: str | None = Field(default=None, max_length=1000)
    member_id: int | None = Field(default=None, ge=1, le=2**62)
    unit_id: int | None = Field(default=None, ge=1, le=2**62)
    letter_code: str | None = Field(default=None, pattern=r"^HZ[0-9]{4}-[0-9]{3,10}$")
    hours: float | None = Field(
        default=None, gt=0, le=999, description="Service hours of a finished need or post"
    )
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)
    community_rating: int | None = Field(
        default=None, ge=1, le=5, description="The community's stars for a need or post"
    )
    community_comment: str | None = Field(default=None, max_length=500)


class RatingCreate(BaseModel):
    """The reporter's rating of his closed case (一事一评)."""

    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5, description="1 to 5 stars")
    comment: str | None = Field(default=None, max_length=500)
