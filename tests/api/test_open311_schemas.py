"""Open311 GeoReport v2 to the letter: responses validate against open311/schema-validation's JSON
schemas with format checks on (vendored in tests/schemas/open311), ``api_key`` and
``jurisdiction_id`` in the query string, and XML that survives control characters."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer
from tests.api.test_open311 import BASE, api_key

__all__ = ["api_key", "client_for"]

SCHEMAS = Path(__file__).parents[1] / "schemas" / "open311"
BASE_URI = "https://schemas.open311.invalid/georeport-v2/"


def validator(name: str) -> jsonschema_rs.Validator:
    """The named schema with its ``$ref``s resolved among the vendored files, formats checked."""
    documents = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
    registry = jsonschema_rs.Registry(
        [(BASE_URI + n, d) for n, d in documents.items() if n != "swagger.json"]
    )
    return jsonschema_rs.Draft7Validator(
        documents[name], validate_formats=True, registry=registry, base_uri=BASE_URI + name
    )


def errors(name: str, instance: Any) -> list[str]:
    return [f"{e.instance_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def post(client: Any, key: str, g: Any, **extra: str) -> str:
    response = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "C01",
            "lat": str(g.lat),
            "long": str(g.lon),
            "description": "路灯不亮",
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def test_the_vendored_schemas_catch_what_they_should() -> None:
    good = {
        "service_request_id": "1",
        "status": "open",
        "service_code": "C01",
        "requested_datetime": "2026-11-20T08:00:00+08:00",
    }
    assert errors("requests.json", [good]) == []
    assert errors("requests.json", [{**good, "media_url": ""}])  # the old bug
    assert errors("requests.json", [{**good, "requested_datetime": "yesterday"}])
    assert errors("requests.json", [{**good, "status": "pending"}])


def test_requests_and_services_validate_with_formats(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 12)
    c = client_for(ANONYMOUS)
    plain = post(c, api_key, g)
    with_media = post(c, api_key, g, media_url="https://img.example/lamp.jpg")
    for code in (plain, with_media):
        body = c.get(f"{BASE}/requests/{code}.json").json()
        assert errors("requests.json", body) == []
    assert "media_url" not in c.get(f"{BASE}/requests/{plain}.json").json()[0]
    assert c.get(f"{BASE}/requests/{with_media}.json").json()[0]["media_url"] == (
        "https://img.example/lamp.jpg"
    )
    listing = c.get(f"{BASE}/requests.json", params={"page_size": 200}).json()
    assert len(listing) > 1 and errors("requests.json", listing) == []
    services = c.get(f"{BASE}/services.json").json()
    assert errors("services.json", services) == []
    for service in services[:3]:
        definition = c.get(f"{BASE}/services/{service['service_code']}.json").json()
        assert errors("service-definition.json", definition) == []


def test_api_key_and_jurisdiction_id_in_the_query_string(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 13)
    c = client_for(ANONYMOUS)
    form = {"service_code": "C01", "lat": str(g.lat), "long": str(g.lon), "description": "井盖"}
    posted = c.post(
        f"{BASE}/requests.json",
        params={"api_key": api_key, "jurisdiction_id": "huating.gov.cn"},
        data=form,
    )
    assert posted.status_code == 201, posted.text
    code = posted.json()[0]["service_request_id"]
    assert (
        db_session.execute(
            text("SELECT source FROM incident WHERE code = :c"), {"c": code}
        ).scalar_one()
        == "open311"
    )
    # Still refused without a key anywhere, or with a wrong one.
    assert c.post(f"{BASE}/requests.json", data=form).status_code == 403
    assert (
        c.post(f"{BASE}/requests.json", params={"api_key": "gg_no"}, data=form).status_code == 403
    )
    for path in (
        "/services.json",
        "/services/C01.json",
        "/requests.json",
        f"/requests/{code}.json",
        "/servicerequestupdates.json",
        "/discovery.json",
    ):
        response = c.get(BASE + path, params={"jurisdiction_id": "huating.gov.cn"})
        assert response.status_code == 200, (path, response.text)
    comment = c.post(
        f"{BASE}/servicerequestupdates.json",
        params={"api_key": api_key},
        data={"service_request_id": code, "description": "补充：在路口东侧"},
    )
    assert comment.status_code == 201, comment.text


def test_control_characters_never_break_the_xml_feed(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 15)
    anon = client_for(ANONYMOUS)
    code = post(anon, api_key, g, description="路灯\x07不亮\x1b[31m")
    iid = db_session.execute(
        text("SELECT id FROM incident WHERE code = :c"), {"c": code}
    ).scalar_one()
    op = client_for(viewer("command_operator", g.district_code))
    moved = op.post(
        f"/api/v1/incidents/{iid}/transitions",
        json={"to": "accepted", "public_note": "已受理\x0b请等待\x01"},
    )
    assert moved.status_code == 200, moved.text
    for path in (f"/requests/{code}.xml", "/requests.xml", "/servicerequestupdates.xml"):
        response = anon.get(BASE + path, params={"service_request_id": code})
        assert response.status_code == 200
        root = ET.fromstring(response.content)  # noqa: S314 - our own server's output
        assert root is not None
    request = ET.fromstring(anon.get(f"{BASE}/requests/{code}.xml").content)  # noqa: S314
    assert request.findtext("request/description") == "路灯不亮[31m"
    # JSON keeps the text as stored (escaped), so nothing is lost for JSON clients.
    assert anon.get(f"{BASE}/requests/{code}.json").json()[0]["description"].startswith("路灯\x07")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_updates_omit_empty_media_url(
    db_session: Session, client_for: ClientFor, api_key: str, fmt: str
) -> None:
    g = grid_point(db_session, 16)
    anon = client_for(ANONYMOUS)
    code = post(anon, api_key, g)
    response = anon.get(f"{BASE}/servicerequestupdates.{fmt}", params={"service_request_id": code})
    assert response.status_code == 200
    assert "media_url" not in response.text
