"""Open311 GeoReport v2 at /open311/v2, in XML (the standard's required format) and JSON.

Our case categories are the services (``E01`` 市容环境 … ``C05`` 其他设施); a service request is a
case, identified by its code. Statuses are the standard's open/closed, with the widely used
extension values in ``extended_status`` and our Chinese sub-state in ``external_status_code``.
Errors are the standard's error arrays. Only public fields leave this surface.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import SessionDep
from api.security import ViewerDep
from api.submitters import require_submitter, stamp_submitter
from gis.crs import parse_crs
from gis.errors import Conflict, Forbidden, GridgovError, InvalidInput, NotFound
from gis.incidents import intake, listing, open311
from gis.incidents.vocabulary import (
    CATEGORIES,
    KIND_LABELS_ZH,
    KINDS,
    OPEN_STATUSES,
    STATUS_LABELS_ZH,
)
from gis.incidents.workcalendar import CST
from gis.incidents.workflow import INCIDENT_WORKFLOW
from gis.queries.spatial_params import point_to_wgs84

PREFIX = "/open311/v2"
router = APIRouter(tags=["open311"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-22T00:00:00+08:00"
MAX_WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000

# Typical problems (小类) of each category, offered as the service's "detail" attribute.
DETAILS: dict[str, tuple[str, ...]] = {
    "市容环境": ("道路积存垃圾渣土", "暴露垃圾", "乱堆物料", "沿街晾挂"),
    "宣传广告": ("非法小广告", "违规户外广告", "条幅破损"),
    "施工管理": ("施工扰民", "道路遗撒", "工地围挡破损"),
    "街面秩序": ("店外经营占道", "流动摊贩", "乱停放车辆"),
    "突发事件": ("路面塌陷", "水管爆裂", "燃气泄漏", "积水内涝"),
    "其他": ("噪声扰民", "群众求助"),
    "公用设施": ("井盖缺失", "雨水箅子破损", "路灯不亮", "消火栓损坏"),
    "交通设施": ("交通标志牌倾斜", "护栏损坏", "盲道破损"),
    "市容环境设施": ("垃圾桶破损", "公厕设施损坏", "果皮箱缺失"),
    "园林绿化设施": ("行道树倒伏", "绿地护栏损坏", "树穴缺失"),
    "其他设施": ("健身器材损坏", "宣传栏破损"),
}
# (service_code, category, group, details): E01… for the event categories and C01… for the
# component categories, in the vocabulary's order (the codes are public: append, never reorder).
SERVICES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = tuple(
    (f"{'E' if kind == 'event' else 'C'}{n:02d}", category, KIND_LABELS_ZH[kind], DETAILS[category])
    for kind in KINDS
    for n, category in enumerate(CATEGORIES[kind], start=1)
)
CATEGORY_OF_CODE = {code: cat for code, cat, _, _ in SERVICES}
CODE_OF_CATEGORY = {cat: code for code, cat, _, _ in SERVICES}

# Extension status → (our statuses, resolution) it selects.
EXTENDED: dict[str, tuple[tuple[str, ...], str | None]] = {
    "open": (("reported",), None),
    "investigating": (("accepted", "registered"), None),
    "action_scheduled": (("dispatched",), None),
    "in_progress": (("in_progress", "handled", "verified", "suspended"), None),
    "closed": (("closed", "evaluated"), None),
    "duplicate": (("rejected",), "duplicate"),
    "not_councils_responsibility": (("rejected",), "not_responsible"),
    "no_further_action": (("rejected",), "invalid"),
}


def extended_status(status: str, resolution: str | None) -> str:
    """The extension status value of a case (``reopen`` is reported by updates)."""
    for value, (statuses, res) in EXTENDED.items():
        if status in statuses and (res is None or res == resolution):
            return value
    return "closed"


def open_or_closed(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


# --- Formats ------------------------------------------------------------------------------------


# Characters XML 1.0 cannot carry at all, not even escaped (§2.2): C0 controls other than tab,
# newline and carriage return, lone surrogates, U+FFFE/U+FFFF. ElementTree writes them as they
# are, and one in a resident's comment would make the whole feed unparsable for every reader.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    r"""``value`` without the characters XML 1.0 forbids (JSON keeps them, escaped).

    >>> xml_text("路灯\x07不亮\x00")
    '路灯不亮'
    """
    return _NOT_XML.sub("", value)


def _xml_value(parent: ET.Element, tag: str, value: Any, item_tags: Mapping[str, str]) -> None:
    child = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_value(child, k, v, item_tags)
    elif isinstance(value, list):
        item = item_tags.get(tag, tag.rstrip("s"))
        for v in value:
            _xml_value(child, item, v, item_tags)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = xml_text(str(value))


# The element name of list items under each list element (GeoReport v2's XML layout).
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    """``body`` (a list or an object) as JSON, or as XML under ``root``."""
    if fmt == "json":
        return JSONResponse(body, status_code=status)
    element = ET.Element(root)
    if isinstance(body, list):
        item = ITEM_TAGS[root]
        for entry in body:
            _xml_value(element, item, entry, ITEM_TAGS)
    else:
        for k, v in body.items():
            _xml_value(element, k, v, ITEM_TAGS)
    xml = ET.tostring(element, encoding="unicode")
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n' + xml,
        status_code=status,
        media_type="text/xml; charset=utf-8",
    )


def error(fmt: str, status: int, description: str) -> Response:
    return render(
        fmt if fmt in ("json", "xml") else "xml",
        "errors",
        [{"code": status, "description": description}],
        status,
    )


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(400, f"format must be xml or json, not {fmt[:20]!r}")
    return fmt


def _guard(fmt: str, call: Any) -> Response:
    """Run ``call``; turn our domain errors into the standard's error arrays."""
    try:
        return call(_format(fmt))
    except Open311Error as exc:
        return error(fmt, exc.status, exc.description)
    except (InvalidInput, Conflict) as exc:
        name = f"{exc.parameter}: " if exc.parameter else ""
        return error(fmt, 409 if isinstance(exc, Conflict) else 400, name + exc.detail)
    except Forbidden as exc:
        return error(fmt, 403, exc.detail)
    except NotFound as exc:
        return error(fmt, 404, exc.detail)
    except GridgovError as exc:
        return error(fmt, 400, exc.detail)


def _iso(value: str | datetime | None) -> str | None:
    if value is None:
        return None
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(CST).isoformat(timespec="seconds")


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-11-20T08:00:00+08:00"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=CST)


# --- Endpoints ----------------------------------------------------------------------------------

# The standard's parameters, read from the query or the form by hand (GeoReport v2 names them,
# not our schema), documented here so that clients and the generated tests know them.


def _query_doc(*names: str) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in names
        ]
    }


# Parameters the standard's own definition (its swagger) declares ``in: query`` also for POST, and
# that existing clients send there; a value in the form body wins. ``jurisdiction_id`` is accepted
# and ignored: this endpoint serves one jurisdiction (GeoReport v2 requires it only of endpoints
# that serve several).
QUERY_PARAMETERS = ("api_key", "jurisdiction_id")

# Longest value of each form field, as its column holds it (refused with 400 beyond).
FIELD_LIMITS = {
    "api_key": 200,
    "service_code": 20,
    "lat": 40,
    "long": 40,
    "crs": 100,
    "description": 4000,
    "address_string": 500,
    "address_id": 100,
    "first_name": 50,
    "last_name": 50,
    "phone": 20,
    "email": 254,
    "device_id": 100,
    "account_id": 100,
    "media_url": 2000,
    "service_request_id": 40,
    "jurisdiction_id": 100,
}
ATTRIBUTE_LIMIT = 500


def _form_doc(required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
    properties = {
        n: {"type": "string", "maxLength": FIELD_LIMITS[n]} for n in (*required, *optional)
    }
    schema = {"type": "object", "required": list(required), "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def _check_lengths(form: Mapping[str, str]) -> None:
    for name, value in form.items():
        limit = FIELD_LIMITS.get(name, ATTRIBUTE_LIMIT)
        if len(value) > limit:
            raise Open311Error(400, f"{name[:40]} is longer than {limit} characters")


REQUESTS_QUERY = _query_doc(
    "jurisdiction_id",
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "page",
    "page_size",
)
JURISDICTION_QUERY = _query_doc("jurisdiction_id")
UPDATES_QUERY = _query_doc("jurisdiction_id", "start_date", "end_date", "service_request_id")
# api_key may come in the form or in the query string (QUERY_PARAMETERS): required, but in
# neither place alone, so the form schema lists it as optional.
REQUEST_FORM = _form_doc(
    ("service_code", "lat", "long", "description"),
    (
        "api_key",
        "jurisdiction_id",
        "address_string",
        "address_id",
        "first_name",
        "last_name",
        "phone",
        "email",
        "device_id",
        "account_id",
        "media_url",
        "crs",
    ),
)
UPDATE_FORM = _form_doc(
    ("service_request_id", "description"), ("api_key", "jurisdiction_id", "media_url")
)
REQUEST_FORM["parameters"] = _query_doc(*QUERY_PARAMETERS)["parameters"]
UPDATE_FORM["parameters"] = _query_doc(*QUERY_PARAMETERS)["parameters"]


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    """Where this endpoint is and what it speaks (GeoReport v2 service discovery)."""

    def run(f: str) -> Response:
        base = str(request.base_url).rstrip("/") + PREFIX
        body = {
            "changeset": CHANGESET,
            "contact": "网格化服务管理指挥中心 (gridgov)",
            "key_service": "向所在区网格化服务管理指挥中心申请 api_key",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return render(f, "discovery", body)

    return _guard(fmt, run)


def _service(code: str, category: str, group: str, details: tuple[str, ...]) -> dict[str, Any]:
    return {
        "service_code": code,
        "service_name": category,
        "description": f"{group}类：{category}（{'、'.join(details)}等）",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(details),
        "group": group,
    }


@router.get("/services.{fmt}", openapi_extra=JURISDICTION_QUERY)
def services(fmt: str) -> Response:
    """The service list: our case categories."""
    return _guard(fmt, lambda f: render(f, "services", [_service(*s) for s in SERVICES]))


@router.get("/services/{service_code}.{fmt}", openapi_extra=JURISDICTION_QUERY)
def service_definition(service_code: str, fmt: str) -> Response:
    """Attribute definitions of one service."""

    def run(f: str) -> Response:
        entry = next((s for s in SERVICES if s[0] == service_code), None)
        if entry is None:
            raise Open311Error(404, f"no service {service_code[:20]!r}; see services.{f}")
        body = {
            "service_code": service_code,
            "attributes": [
                {
                    "variable": True,
                    "code": "detail",
                    "datatype": "singlevaluelist",
                    "required": False,
                    "datatype_description": "选择最接近的问题类型",
                    "order": 1,
                    "description": "问题类型",
                    "values": [{"key": d, "name": d} for d in entry[3]],
                },
                {
                    "variable": True,
                    "code": "urgent",
                    "datatype": "singlevaluelist",
                    "required": False,
                    "datatype_description": "是否危及人身安全",
                    "order": 2,
                    "description": "是否紧急",
                    "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}],
                },
            ],
        }
        return render(f, "service_definition", body)

    return _guard(fmt, run)


def _absolute(request: Request, url: str | None) -> str:
    """A media URL as Open311 clients need it: the app's own (a stored photo) made absolute."""
    if not url:
        return ""
    return urljoin(str(request.base_url), url) if url.startswith("/") else url


def _media_url(request: Request, url: str | None) -> dict[str, str]:
    """``{"media_url": <absolute URL>}``, or nothing when there is no media (never "")."""
    absolute = _absolute(request, url)
    return {"media_url": absolute} if absolute else {}


def _request_row(
    case: dict[str, Any], public_notes: Mapping[int, str], request: Request
) -> dict[str, Any]:
    """One case as a GeoReport v2 service request (public fields only): ``status_notes`` is the
    newest public note, never an internal one."""
    status = case["status"]
    return {
        "service_request_id": case["code"],
        "status": open_or_closed(status),
        "extended_status": extended_status(status, case.get("resolution")),
        "external_status_code": STATUS_LABELS_ZH[status],
        "status_notes": public_notes.get(case["id"]) or STATUS_LABELS_ZH[status],
        "service_name": case["category"],
        "service_code": CODE_OF_CATEGORY[case["category"]],
        "description": case["description"],
        "agency_responsible": case.get("grid_name") or "网格化服务管理指挥中心",
        "service_notice": "",
        "requested_datetime": _iso(case["reported_at"]),
        "updated_datetime": _iso(case["updated_at"]),
        "expected_datetime": _iso(case["due_at"]),
        "address": case["address"] or "",
        "address_id": "",
        "zipcode": "",
        "lat": case["lat"],
        "long": case["lon"],
        # GeoReport v2's schema types media_url as a URI or null; "" is neither, so a request
        # without media omits it (the XML then has no <media_url> either).
        **_media_url(request, case["media_url"]),
    }


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@router.get("/requests.{fmt}", openapi_extra=REQUESTS_QUERY)
def get_requests(request: Request, session: SessionDep, viewer: ViewerDep, fmt: str) -> Response:
    """Service requests by id list, or by service_code, status and a ≤ 90-day window."""

    def run(f: str) -> Response:
        params = request.query_params
        ids = _split(params.get("service_request_id"))
        filters = listing.IncidentFilter()
        if ids:
            filters.codes = ids
        else:
            end = _parse_time(params.get("end_date"), "end_date")
            start = _parse_time(params.get("start_date"), "start_date")
            end = end or (start + MAX_WINDOW if start else datetime.now(UTC))
            start = start or end - MAX_WINDOW
            if end <= start:
                raise Open311Error(400, "end_date must be after start_date")
            if end - start > MAX_WINDOW:
                raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
            filters.start, filters.end = start, end
            codes = _split(params.get("service_code"))
            if codes:
                unknown = [c for c in codes if c not in CATEGORY_OF_CODE]
                if unknown:
                    raise Open311Error(400, f"unknown service_code {unknown[0][:20]!r}")
                if len(codes) > 1:
                    raise Open311Error(400, "give one service_code at a time")
                filters.category = CATEGORY_OF_CODE[codes[0]]
            statuses = _split(params.get("status"))
            if statuses:
                wanted: set[str] = set()
                resolutions: set[str] = set()
                for s in statuses:
                    if s == "open":
                        wanted.update(OPEN_STATUSES)
                    elif s == "closed":
                        wanted.update(("rejected", "closed", "evaluated"))
                    elif s in EXTENDED:
                        wanted.update(EXTENDED[s][0])
                        resolution = EXTENDED[s][1]
                        if resolution:
                            resolutions.add(resolution)
                    else:
                        raise Open311Error(
                            400, f"status must be open, closed or one of {', '.join(EXTENDED)}"
                        )
                filters.status = sorted(wanted)
                only_rejected_kinds = all(s in EXTENDED and EXTENDED[s][1] for s in statuses)
                if only_rejected_kinds:
                    filters.resolutions = sorted(resolutions)
        try:
            page = int(params.get("page", "1"))
            page_size = int(params.get("page_size", "50"))
        except ValueError:
            raise Open311Error(400, "page and page_size must be whole numbers") from None
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise Open311Error(400, f"page ≥ 1 and page_size from 1 to {MAX_PAGE_SIZE}")
        result = listing.list_incidents(
            session, viewer, filters, limit=page_size, offset=(page - 1) * page_size
        )
        notes = open311.latest_public_notes(session, [c["id"] for c in result["items"]])
        return render(
            f, "service_requests", [_request_row(c, notes, request) for c in result["items"]]
        )

    return _guard(fmt, run)


@router.get("/requests/{service_request_id}.{fmt}", openapi_extra=JURISDICTION_QUERY)
def get_request(
    request: Request, session: SessionDep, viewer: ViewerDep, service_request_id: str, fmt: str
) -> Response:
    """One service request."""

    def run(f: str) -> Response:
        result = listing.list_incidents(
            session, viewer, listing.IncidentFilter(codes=[service_request_id]), limit=1
        )
        if not result["items"]:
            raise Open311Error(404, f"no service request {service_request_id[:40]!r}")
        case = result["items"][0]
        notes = open311.latest_public_notes(session, [case["id"]])
        return render(f, "service_requests", [_request_row(case, notes, request)])

    return _guard(fmt, run)


@router.get("/tokens/{token}.{fmt}", openapi_extra=JURISDICTION_QUERY)
def get_token(session: SessionDep, token: str, fmt: str) -> Response:
    """The service_request_id behind a token."""

    def run(f: str) -> Response:
        code = open311.incident_by_token(session, token)
        if code is None:
            raise Open311Error(404, f"no request has token {token[:40]!r}")
        return render(f, "service_requests", [{"service_request_id": code, "token": token}])

    return _guard(fmt, run)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in QUERY_PARAMETERS:
        if name not in values and name in request.query_params:
            values[name] = request.query_params[name]
    return values


def _float(form: Mapping[str, str], name: str) -> float | None:
    value = form.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number in decimal degrees") from None
    if not math.isfinite(number):
        raise Open311Error(400, f"{name} must be finite")
    return number


@router.post("/requests.{fmt}", openapi_extra=REQUEST_FORM)
async def post_request(
    request: Request, session: SessionDep, viewer: ViewerDep, fmt: str
) -> Response:
    """Create a service request (form-encoded, as the standard says; api_key required).

    ``Idempotency-Key`` makes a repeated POST return the first request; ``crs`` (gcj02, bd09,
    EPSG:xxxx) converts lat/long before routing.
    """
    form = await _form(request)
    idem = request.headers.get("Idempotency-Key")

    def run(f: str) -> Response:
        _check_lengths(form)
        client_name = require_submitter(session, viewer, form.get("api_key")) or viewer.username
        code = form.get("service_code", "")
        if code not in CATEGORY_OF_CODE:
            raise Open311Error(400, f"service_code must be one of {', '.join(CATEGORY_OF_CODE)}")
        lat, lon = _float(form, "lat"), _float(form, "long")
        if lat is None or lon is None:
            if form.get("address_string") or form.get("address_id"):
                raise Open311Error(
                    400,
                    "address_string alone cannot be placed on the map here; send lat and long",
                )
            raise Open311Error(400, "a location is required: lat and long")
        crs = form.get("crs") or request.query_params.get("crs")
        if crs:
            parse_crs(crs)
        wlon, wlat = point_to_wgs84(lon, lat, crs)
        description = form.get("description", "").strip()
        if not description:
            raise Open311Error(400, "description is required")
        attributes = {
            k[len("attribute[") : -1]: v
            for k, v in form.items()
            if k.startswith("attribute[") and k.endswith("]")
        }
        # Chinese names: family name first.
        name = (form.get("last_name", "") + form.get("first_name", "")).strip() or None
        data = intake.IncidentInput(
            category=CATEGORY_OF_CODE[code],
            description=description[:4000],
            lon=wlon,
            lat=wlat,
            source="open311",
            address=form.get("address_string") or None,
            reporter_name=name[:50] if name else None,
            reporter_phone=form.get("phone") or None,
            reporter_email=form.get("email") or None,
            device_id=form.get("device_id") or None,
            account_id=form.get("account_id") or None,
            media_url=form.get("media_url") or None,
            attributes=attributes,
        )
        result = intake.create_incident(
            session,
            viewer,
            data,
            idempotency_key=f"{client_name}:{idem}" if idem else None,
            endpoint="open311",
        )
        case = result.incident
        token = open311.incident_token(session, case["id"])
        stamp_submitter(session, viewer, form.get("api_key"))
        body = [
            {
                "service_request_id": case["code"],
                "token": token,
                "service_notice": "已受理，将在1小时内立案" if case["status"] == "reported" else "",
                "account_id": form.get("account_id") or "",
            }
        ]
        return render(f, "service_requests", body, 201)

    # The SQL runs in a worker thread: an async handler must not block the event loop.
    return await to_thread.run_sync(_guard, fmt, run)


@router.get("/servicerequestupdates.{fmt}", openapi_extra=UPDATES_QUERY)
def get_updates(request: Request, session: SessionDep, fmt: str) -> Response:
    """Status changes and comments in a window (the servicerequestupdates extension)."""

    def run(f: str) -> Response:
        params = request.query_params
        end = _parse_time(params.get("end_date"), "end_date") or datetime.now(UTC)
        start = _parse_time(params.get("start_date"), "start_date") or end - timedelta(days=1)
        if end <= start or end - start > MAX_WINDOW:
            raise Open311Error(400, "start_date must precede end_date by at most 90 days")
        rows = open311.updates_between(
            session, start, end, _split(params.get("service_request_id"))
        )
        body = [
            {
                "update_id": str(r.id),
                "service_request_id": r.code,
                "status": _update_status(r),
                "external_status_code": STATUS_LABELS_ZH[r.to_status],
                "updated_datetime": _iso(r.at),
                # Public fields only: an internal note never leaves through Open311.
                "description": r.public_note or STATUS_LABELS_ZH[r.to_status],
                **_media_url(request, r.public_attachments[0] if r.public_attachments else None),
            }
            for r in rows
        ]
        return render(f, "service_request_updates", body)

    return _guard(fmt, run)


def _update_status(row: Any) -> str:
    step = INCIDENT_WORKFLOW.step(row.from_status, row.to_status)
    if step is not None and step.rework:
        return "reopen"
    return extended_status(row.to_status, row.resolution if row.to_status == "rejected" else None)


@router.post("/servicerequestupdates.{fmt}", openapi_extra=UPDATE_FORM)
async def post_update(
    request: Request, session: SessionDep, viewer: ViewerDep, fmt: str
) -> Response:
    """A follow-up comment from the reporter's app on an existing request (api_key required)."""
    form = await _form(request)

    def run(f: str) -> Response:
        _check_lengths(form)
        client_name = require_submitter(session, viewer, form.get("api_key")) or viewer.username
        code = form.get("service_request_id", "")
        if not code:
            raise Open311Error(400, "service_request_id is required")
        update_id = open311.add_comment(
            session,
            code,
            f"Open311:{client_name}",
            form.get("description", ""),
            form.get("media_url") or None,
        )
        stamp_submitter(session, viewer, form.get("api_key"))
        return render(f, "service_request_updates", [{"update_id": str(update_id)}], 201)

    return await to_thread.run_sync(_guard, fmt, run)
