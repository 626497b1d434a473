"""Open311 GeoReport v2 in JSON and XML, checked field by field against the definitions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.routers.open311 import SERVICES
from gis.accounts import create_api_client, revoke_api_client
from gis.crs import from_wgs84
from gis.incidents.intake import CASE_CODE
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, grid_point, viewer

__all__ = ["client_for"]

BASE = "/open311/v2"
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "extended_status",
    "external_status_code",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def api_key(db_session: Session) -> str:
    _, key = create_api_client(db_session, "open311-test-app")
    return key


def _xml(response: Any) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own server's output


def test_discovery(client_for: ClientFor) -> None:
    c = client_for(ANONYMOUS)
    j = c.get(f"{BASE}/discovery.json").json()
    assert set(j) == {"changeset", "contact", "key_service", "endpoints"}
    ep = j["endpoints"][0]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"].endswith("/open311/v2") and ep["type"] == "production"
    assert ep["formats"] == ["text/xml", "application/json"]
    x = _xml(c.get(f"{BASE}/discovery.xml"))
    assert x.tag == "discovery"
    endpoint = x.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("specification") == ep["specification"]
    assert [f.text for f in endpoint.findall("formats/format")] == ep["formats"]


def test_services_and_definitions(client_for: ClientFor) -> None:
    c = client_for(ANONYMOUS)
    j = c.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in j] == [s[0] for s in SERVICES]
    for s, (code, category, group, _) in zip(j, SERVICES, strict=True):
        assert set(s) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        assert (s["service_code"], s["service_name"], s["group"]) == (code, category, group)
        assert s["metadata"] is True and s["type"] in ("realtime", "batch", "blackbox")
    x = _xml(c.get(f"{BASE}/services.xml"))
    assert x.tag == "services"
    xs = x.findall("service")
    assert [e.findtext("service_code") for e in xs] == [s["service_code"] for s in j]
    assert xs[0].findtext("metadata") == "true" and xs[0].findtext("service_name") == "市容环境"

    d = c.get(f"{BASE}/services/C01.json").json()
    assert d["service_code"] == "C01"
    attr = d["attributes"][0]
    assert set(attr) == {
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    }
    assert attr["datatype"] in (
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    )
    assert {"key": "井盖缺失", "name": "井盖缺失"} in attr["values"]
    dx = _xml(c.get(f"{BASE}/services/C01.xml"))
    assert dx.tag == "service_definition" and dx.findtext("service_code") == "C01"
    first = dx.find("attributes/attribute")
    assert first is not None and first.findtext("code") == "detail"
    assert first.findtext("required") == "false"
    assert [v.findtext("key") for v in first.findall("values/value")] == [
        v["key"] for v in attr["values"]
    ]
    missing = c.get(f"{BASE}/services/X99.xml")
    assert missing.status_code == 404
    err = _xml(missing).find("error")
    assert err is not None and err.findtext("code") == "404" and err.findtext("description")
    assert c.get(f"{BASE}/services/X99.json").json()[0]["code"] == 404


def test_post_and_get_a_request_in_both_formats(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 11)
    c = client_for(ANONYMOUS)
    form = {
        "api_key": api_key,
        "service_code": "C01",
        "lat": str(g.lat),
        "long": str(g.lon),
        "description": "井盖缺失，有安全隐患",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13912345678",
        "email": "wang@example.cn",
        "device_id": "dev-1",
        "account_id": "acc-9",
        "media_url": "https://img.example/well.jpg",
        "attribute[detail]": "井盖缺失",
        "attribute[urgent]": "yes",
        "address_string": "华亭市某路口",
    }
    posted = c.post(f"{BASE}/requests.json", data=form)
    assert posted.status_code == 201, posted.text
    created = posted.json()[0]
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    assert created["account_id"] == "acc-9"
    row = db_session.execute(
        text(
            "SELECT i.id, i.code, i.category, i.source, i.reporter_name, i.reporter_phone, "
            "i.reporter_email, i.device_id, i.account_id, i.media_url, i.attributes, i.grid_id, "
            "i.token::text AS token, i.reported_at, i.updated_at, i.due_at, "
            "ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat FROM incident i WHERE code = :c"
        ),
        {"c": created["service_request_id"]},
    ).one()
    assert (row.category, row.source, row.grid_id) == ("公用设施", "open311", g.grid_id)
    assert (row.reporter_name, row.reporter_phone, row.reporter_email) == (
        "王小明",
        "13912345678",
        "wang@example.cn",
    )
    assert (row.device_id, row.account_id) == ("dev-1", "acc-9")
    assert row.attributes == {"detail": "井盖缺失", "urgent": "yes"}
    assert created["token"] == row.token

    one = c.get(f"{BASE}/requests/{row.code}.json").json()
    assert len(one) == 1 and list(one[0]) == REQUEST_FIELDS
    r = one[0]
    assert r["service_request_id"] == row.code
    assert (r["status"], r["extended_status"], r["external_status_code"]) == (
        "open",
        "open",
        "上报",
    )
    assert (r["service_code"], r["service_name"]) == ("C01", "公用设施")
    assert r["description"] == "井盖缺失，有安全隐患"
    assert r["address"] == "华亭市某路口" and r["media_url"] == "https://img.example/well.jpg"
    assert r["lat"] == pytest.approx(row.lat) and r["long"] == pytest.approx(row.lon)
    from datetime import datetime

    assert datetime.fromisoformat(r["requested_datetime"]) == row.reported_at.replace(microsecond=0)
    assert datetime.fromisoformat(r["expected_datetime"]) == row.due_at.replace(microsecond=0)
    # No personal data on the public surface.
    assert "王小明" not in str(one) and "139" not in str(one)

    x = _xml(c.get(f"{BASE}/requests/{row.code}.xml"))
    assert x.tag == "service_requests"
    req = x.find("request")
    assert req is not None
    assert [e.tag for e in req] == REQUEST_FIELDS
    for name in REQUEST_FIELDS:
        expected = r[name]
        assert (req.findtext(name) or "") == ("" if expected is None else str(expected)), name

    token = _xml(c.get(f"{BASE}/tokens/{row.token}.xml")).find("request")
    assert token is not None and token.findtext("service_request_id") == row.code
    assert c.get(f"{BASE}/tokens/00000000-0000-0000-0000-000000000000.json").status_code == 404
    assert c.get(f"{BASE}/requests/NOPE.json").status_code == 404


def test_post_errors_and_crs(db_session: Session, client_for: ClientFor, api_key: str) -> None:
    g = grid_point(db_session, 12)
    c = client_for(ANONYMOUS)
    base = {"service_code": "E01", "lat": str(g.lat), "long": str(g.lon), "description": "x"}
    no_key = c.post(f"{BASE}/requests.xml", data=base)
    assert no_key.status_code == 403
    err = _xml(no_key).find("error")
    assert err is not None and err.findtext("code") == "403"
    bad = c.post(f"{BASE}/requests.json", data={**base, "api_key": "gg_wrong"})
    assert bad.status_code == 403 and bad.json()[0]["code"] == 403
    for wrong in ({"service_code": "Z9"}, {"lat": ""}, {"lat": "abc"}, {"description": ""}):
        r = c.post(f"{BASE}/requests.json", data={**base, "api_key": api_key, **wrong})
        assert r.status_code == 400, wrong
        assert set(r.json()[0]) == {"code", "description"}
    # The intake's jurisdiction rule: a point far from the city is refused, nothing written.
    n_before = db_session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    far = c.post(
        f"{BASE}/requests.json", data={**base, "api_key": api_key, "lat": "-1", "long": "-1"}
    )
    assert far.status_code == 400, far.text
    assert "outside the city's districts" in far.json()[0]["description"]
    assert db_session.execute(text("SELECT count(*) FROM incident")).scalar_one() == n_before
    # A signed-in account may submit without a key (the same rule as the JSON API).
    staff = client_for(viewer("grid_worker", g.grid_code)).post(f"{BASE}/requests.json", data=base)
    assert staff.status_code == 201, staff.text
    assert CASE_CODE.fullmatch(staff.json()[0]["service_request_id"])
    gx, gy = from_wgs84(g.lon, g.lat, "GCJ02")
    r = c.post(
        f"{BASE}/requests.json",
        data={**base, "api_key": api_key, "lat": str(gy), "long": str(gx), "crs": "gcj02"},
    )
    assert r.status_code == 201
    grid = db_session.execute(
        text("SELECT grid_id FROM incident WHERE code = :c"),
        {"c": r.json()[0]["service_request_id"]},
    ).scalar_one()
    assert grid == g.grid_id


def test_idempotency_key_on_open311(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 13)
    c = client_for(ANONYMOUS)
    form = {
        "api_key": api_key,
        "service_code": "E04",
        "lat": str(g.lat),
        "long": str(g.lon),
        "description": "占道经营",
    }
    h = {"Idempotency-Key": "o311-abc"}
    a = c.post(f"{BASE}/requests.json", data=form, headers=h).json()[0]
    b = c.post(f"{BASE}/requests.json", data=form, headers=h).json()[0]
    assert a["service_request_id"] == b["service_request_id"]
    n = db_session.execute(
        text("SELECT count(*) FROM incident WHERE description = '占道经营' AND grid_id = :g"),
        {"g": g.grid_id},
    ).scalar_one()
    assert n == 1


def test_get_requests_filters_window_and_paging(db_session: Session, client_for: ClientFor) -> None:
    c = client_for(ANONYMOUS)
    start, end = db_session.execute(
        text("SELECT max(reported_at) - interval '30 days', max(reported_at) FROM incident")
    ).one()
    params = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "service_code": "E01",
        "status": "closed",
        "page_size": "1000",
    }
    got = c.get(f"{BASE}/requests.json", params=params).json()
    expected = (
        db_session.execute(
            text(
                "SELECT code FROM incident WHERE category = '市容环境' AND reported_at >= :s "
                "AND reported_at < :e AND status IN ('rejected', 'closed', 'evaluated') "
                "ORDER BY reported_at DESC, id DESC"
            ),
            {"s": start, "e": end},
        )
        .scalars()
        .all()
    )
    assert [r["service_request_id"] for r in got] == list(expected)
    assert all(r["status"] == "closed" for r in got)
    page2 = c.get(f"{BASE}/requests.json", params={**params, "page": "2", "page_size": "5"}).json()
    assert [r["service_request_id"] for r in page2] == list(expected)[5:10]
    ids = ",".join(expected[:3])
    by_id = c.get(f"{BASE}/requests.xml", params={"service_request_id": ids})
    assert sorted(
        e.findtext("service_request_id") or "" for e in _xml(by_id).findall("request")
    ) == sorted(expected[:3])
    too_long = c.get(
        f"{BASE}/requests.json",
        params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
    )
    assert too_long.status_code == 400 and "90 days" in too_long.json()[0]["description"]
    assert c.get(f"{BASE}/requests.json", params={"status": "weird"}).status_code == 400
    assert c.get(f"{BASE}/requests.csv").status_code == 400


def test_status_mapping_and_service_request_updates(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    g = grid_point(db_session, 14)
    anon = client_for(ANONYMOUS)
    op = client_for(viewer("command_operator", g.district_code))
    worker = client_for(viewer("grid_worker", g.grid_code))
    r = anon.post(
        f"{BASE}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "E01",
            "lat": str(g.lat),
            "long": str(g.lon),
            "description": "垃圾",
        },
    ).json()[0]
    code = r["service_request_id"]
    iid = db_session.execute(
        text("SELECT id FROM incident WHERE code = :c"), {"c": code}
    ).scalar_one()
    expected = [
        ("accepted", "open", "investigating", "已受理"),
        ("registered", "open", "investigating", "立案"),
        ("dispatched", "open", "action_scheduled", "派遣"),
        ("in_progress", "open", "in_progress", "处置中"),
        ("handled", "open", "in_progress", "处置反馈"),
        ("verified", "open", "in_progress", "核查通过"),
        ("closed", "closed", "closed", "结案"),
    ]
    for to, status, ext, zh in expected:
        who = worker if to in ("in_progress", "handled") else op
        assert who.post(f"/api/v1/incidents/{iid}/transitions", json={"to": to}).status_code == 200
        got = anon.get(f"{BASE}/requests/{code}.json").json()[0]
        assert (got["status"], got["extended_status"], got["external_status_code"]) == (
            status,
            ext,
            zh,
        )
    added = anon.post(
        f"{BASE}/servicerequestupdates.json",
        data={"api_key": api_key, "service_request_id": code, "description": "谢谢，已经处理好了"},
    )
    assert added.status_code == 201
    update_id = added.json()[0]["update_id"]
    updates = anon.get(f"{BASE}/servicerequestupdates.xml", params={"service_request_id": code})
    root = _xml(updates)
    assert root.tag == "service_request_updates"
    items = root.findall("request_update")
    assert [e.findtext("status") for e in items] == [
        "open",
        "investigating",
        "investigating",
        "action_scheduled",
        "in_progress",
        "in_progress",
        "in_progress",
        "closed",
        "closed",
    ]
    last = items[-1]
    assert last.findtext("update_id") == update_id
    assert last.findtext("description") == "谢谢，已经处理好了"
    assert [e.tag for e in last] == [
        "update_id",
        "service_request_id",
        "status",
        "external_status_code",
        "updated_datetime",
        "description",
    ]  # no media_url: the comment has no photo (an empty one would fail the schema's uri)
    # Refusals map to the extension values.
    dup_src = anon.post(
        f"{BASE}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "E02",
            "lat": str(g.lat),
            "long": str(g.lon),
            "description": "小广告",
        },
    ).json()[0]["service_request_id"]
    did = db_session.execute(
        text("SELECT id FROM incident WHERE code = :c"), {"c": dup_src}
    ).scalar_one()
    op.post(
        f"/api/v1/incidents/{did}/transitions",
        json={"to": "rejected", "resolution": "not_responsible"},
    )
    got = anon.get(f"{BASE}/requests/{dup_src}.json").json()[0]
    assert (got["status"], got["extended_status"], got["external_status_code"]) == (
        "closed",
        "not_councils_responsibility",
        "不予立案",
    )


def test_key_use_is_stamped_and_a_revoked_key_writes_nothing(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    """The key is looked up read-only first and stamped just before the commit (so one client's
    requests do not queue on its api_client row); both checks must still hold."""
    g = grid_point(db_session, 12)
    c = client_for(ANONYMOUS)
    form = {
        "api_key": api_key,
        "service_code": "E01",
        "lat": str(g.lat),
        "long": str(g.lon),
        "description": "路边堆放垃圾",
    }

    def count() -> int:
        return int(
            db_session.execute(
                text("SELECT count(*) FROM incident WHERE source = 'open311'")
            ).scalar_one()
        )

    before = count()
    posted = c.post(f"{BASE}/requests.json", data=form)
    assert posted.status_code == 201, posted.text
    row = db_session.execute(
        text(
            "SELECT a.last_used_at, i.token::text AS token, i.reported_at FROM api_client a, "
            "incident i WHERE a.name = 'open311-test-app' AND i.code = :code"
        ),
        {"code": posted.json()[0]["service_request_id"]},
    ).one()
    assert row.last_used_at is not None
    assert posted.json()[0]["token"] == row.token
    assert count() == before + 1
    revoke_api_client(db_session, "open311-test-app")
    refused = c.post(f"{BASE}/requests.json", data=form)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    assert count() == before + 1


def test_internal_notes_never_reach_open311_or_anonymous_readers(
    db_session: Session, client_for: ClientFor, api_key: str
) -> None:
    """Staff notes are internal; only the public note and public attachments are published."""
    g = grid_point(db_session, 15)
    anon = client_for(ANONYMOUS)
    op = client_for(viewer("command_operator", g.district_code))
    code = anon.post(
        f"{BASE}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "E01",
            "lat": str(g.lat),
            "long": str(g.lon),
            "description": "垃圾",
        },
    ).json()[0]["service_request_id"]
    iid = db_session.execute(
        text("SELECT id FROM incident WHERE code = :c"), {"c": code}
    ).scalar_one()
    internal = "已电话联系报案人王小明 13912345678，身份证620881199001011234"
    step = op.post(
        f"/api/v1/incidents/{iid}/transitions",
        json={
            "to": "accepted",
            "note": internal,
            "attachments": ["https://internal.example/call-log.pdf"],
            "public_note": "已立案，将尽快派遣处置",
            "public_attachments": ["https://img.example/site.jpg"],
        },
    )
    assert step.status_code == 200, step.text
    # Staff in scope read both notes.
    staff_view = op.get(f"/api/v1/incidents/{iid}").json()["history"][-1]
    assert staff_view["note"] == internal
    assert staff_view["public_note"] == "已立案，将尽快派遣处置"
    # The note written before the split is internal too: the first step's "上报" stays inside.
    json_updates = anon.get(
        f"{BASE}/servicerequestupdates.json", params={"service_request_id": code}
    )
    xml_updates = anon.get(f"{BASE}/servicerequestupdates.xml", params={"service_request_id": code})
    window = anon.get(f"{BASE}/servicerequestupdates.json")  # the bulk read of the whole window
    requests = anon.get(f"{BASE}/requests/{code}.json")
    anonymous_case = anon.get(f"/api/v1/incidents/{iid}")
    for response in (json_updates, xml_updates, window, requests, anonymous_case):
        assert response.status_code == 200
        body = response.content.decode()
        assert "13912345678" not in body and "王小明" not in body, response.url
        assert "620881199001011234" not in body and "call-log" not in body, response.url
    descriptions = [u["description"] for u in json_updates.json()]
    assert descriptions[-1] == "已立案，将尽快派遣处置"
    assert json_updates.json()[-1]["media_url"] == "https://img.example/site.jpg"
    assert _xml(xml_updates).findall("request_update")[-1].findtext("description") == (
        "已立案，将尽快派遣处置"
    )
    assert requests.json()[0]["status_notes"] == "已立案，将尽快派遣处置"
    last = anonymous_case.json()["history"][-1]
    assert last["public_note"] == "已立案，将尽快派遣处置" and "note" not in last
