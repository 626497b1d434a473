"""Photos and attachments: upload (multipart) and serve with access checks (docs/media.md).

Uploads are checked by content (JPEG, PNG, WebP), stripped of metadata, stored by their SHA-256
and recorded as the uploader's until a case step attaches them (``media`` / ``public_media`` of
``POST /incidents/{id}/transitions``, ``media`` of ``POST /incidents``). Serving asks
gis.media.records who may see the photo; anyone else gets 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Path, UploadFile
from fastapi.responses import JSONResponse, Response

from api.deps import SessionDep
from api.errors import PROBLEM_JSON
from api.security import ViewerDep, scope_decision
from gis.media import records
from gis.media.records import Served
from gis.settings import get_settings

router = APIRouter(tags=["media"])
# A photo is seen by its uploader, or as the case it belongs to (scoped unless public).
SCOPED = scope_decision("scoped")

MediaIdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="the id of a stored photo")]
# A photo never changes under its id (content-addressed): a year, and no revalidation.
PUBLIC_CACHE = "public, max-age=31536000, immutable"
# Scoped photos: only this user's browser may keep them, and not for long, as a case can leave
# the viewer's scope.
PRIVATE_CACHE = "private, max-age=3600, immutable"
_IMAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
    304: {"description": "Not modified (If-None-Match)"},
    404: {"description": "No such photo, or not one you may see", "content": {PROBLEM_JSON: {}}},
}
_UPLOAD_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "Empty or damaged image", "content": {PROBLEM_JSON: {}}},
    403: {"description": "Not signed in", "content": {PROBLEM_JSON: {}}},
    413: {"description": "Too many bytes or pixels", "content": {PROBLEM_JSON: {}}},
    415: {"description": "Not a JPEG, PNG or WebP image", "content": {PROBLEM_JSON: {}}},
}


@router.post("/media", status_code=201, responses=_UPLOAD_ERRORS, openapi_extra=SCOPED)
def upload_media(
    session: SessionDep,
    viewer: ViewerDep,
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP photo")],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="The phone's own id of the photo: a repeat returns the first upload",
        ),
    ] = None,
) -> JSONResponse:
    """Upload a photo (multipart field ``file``); attach it to a case step by its id.
    With an ``Idempotency-Key`` (a photo a phone queued offline) a repeat returns the first.

    The answer has its id, its URL and its thumbnail's URL, its size and type as stored (EXIF
    removed, orientation applied), and the camera's GPS position when the photo had one.
    """
    # One byte over the limit is enough to know it is too large; the rest is never read.
    data = file.file.read(get_settings().media_max_bytes + 1)
    result = records.upload(session, viewer, data, client_id=idempotency_key)
    return JSONResponse(result, status_code=201, headers={"Location": result["url"]})


def _image(served: Served, media_id: int, if_none_match: str | None) -> Response:
    etag = f'"{served.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": PUBLIC_CACHE if served.public else PRIVATE_CACHE,
        "Content-Disposition": f'inline; filename="photo-{media_id}"',
    }
    if not served.public:
        headers["Vary"] = "Cookie, Authorization"
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(served.data, media_type=served.content_type, headers=headers)


@router.get(
    "/media/{media_id}", response_class=Response, responses=_IMAGE_RESPONSES, openapi_extra=SCOPED
)
def get_media(
    session: SessionDep,
    viewer: ViewerDep,
    media_id: MediaIdPath,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A stored photo, if you may see it: public attachments of a case for everyone, internal
    ones within the case's scope, unattached uploads for their uploader."""
    return _image(records.serve(session, viewer, media_id), media_id, if_none_match)


@router.get(
    "/media/{media_id}/thumbnail",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    openapi_extra=SCOPED,
)
def get_media_thumbnail(
    session: SessionDep,
    viewer: ViewerDep,
    media_id: MediaIdPath,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The photo's thumbnail (JPEG, at most 320 px on its longer side), with the same access."""
    served = records.serve(session, viewer, media_id, thumbnail=True)
    return _image(served, media_id, if_none_match)
