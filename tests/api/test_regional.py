"""/api/v1/regional: units on the e-map layers, 共建协议 with resources, 大党委/大工委 seats
(masked), the community's lists and the e-map's area panel against brute-force counts."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.orglife.completeness import completeness
from gis.orglife.meetings import local_today
from gis.regional.vocabulary import LAYERS, TWO_NEW_KINDS
from gis.scope import ANONYMOUS
from tests.api.incident_helpers import ClientFor, client_for, viewer

__all__ = ["client_for"]


def test_units_on_each_layer(db_session: Session, client_for: ClientFor) -> None:
    public = client_for(ANONYMOUS)
    everything = public.get("/api/v1/regional/units").json()["features"]
    assert (
        len(everything)
        == db_session.execute(text("SELECT count(*) FROM regional_unit")).scalar_one()
    )
    today = local_today()
    for layer in LAYERS:
        answer = public.get("/api/v1/regional/units", params={"layer": layer})
        assert answer.headers["content-type"] == "application/geo+json"
        codes = {f["properties"]["code"] for f in answer.json()["features"]}
        expected = {
            f["properties"]["code"] for f in everything if layer in f["properties"]["layers"]
        }
        assert codes == expected and codes, layer
    # The layers' rules, checked against the rows themselves.
    two_new = {
        r.code
        for r in db_session.execute(
            text("SELECT code FROM regional_unit WHERE kind = ANY(:k)"), {"k": list(TWO_NEW_KINDS)}
        )
    }
    got = public.get("/api/v1/regional/units", params={"layer": "two_new"}).json()["features"]
    assert {f["properties"]["code"] for f in got} == two_new
    joint = {
        r.code
        for r in db_session.execute(
            text(
                "SELECT DISTINCT u.code FROM regional_unit u JOIN joint_agreement ja"
                " ON ja.unit_id = u.id WHERE ja.starts_on <= :t AND ja.ends_on >= :t"
            ),
            {"t": today},
        )
    }
    got = public.get("/api/v1/regional/units", params={"layer": "joint"}).json()["features"]
    assert {f["properties"]["code"] for f in got} == joint
    # bbox limits; a bad layer or bbox is a 4xx.
    first = everything[0]["geometry"]["coordinates"]
    box = f"{first[0] - 1e-5},{first[1] - 1e-5},{first[0] + 1e-5},{first[1] + 1e-5}"
    boxed = public.get("/api/v1/regional/units", params={"bbox": box}).json()["features"]
    assert everything[0]["properties"]["code"] in {f["properties"]["code"] for f in boxed}
    assert len(boxed) < len(everything)
    assert public.get("/api/v1/regional/units", params={"layer": "x"}).status_code == 422
    for bad in ("10,10,5,5", "1.2.3,1,2,3", "1,2,3"):
        answer = public.get("/api/v1/regional/units", params={"bbox": bad})
        assert answer.status_code in (400, 422), bad
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_red_property_company_serves_its_compound(
    db_session: Session, client_for: ClientFor
) -> None:
    code = db_session.execute(
        text(
            "SELECT u.code FROM regional_unit u WHERE u.kind = '物业企业'"
            " AND u.party_org_name IS NOT NULL AND EXISTS (SELECT 1 FROM regional_unit_building"
            " ub WHERE ub.unit_id = u.id) ORDER BY u.code LIMIT 1"
        )
    ).scalar_one()
    unit = client_for(ANONYMOUS).get(f"/api/v1/regional/units/{code}").json()
    assert "red_property" in unit["layers"]
    served = db_session.execute(
        text(
            "SELECT b.code FROM regional_unit_building ub JOIN building b ON b.id = ub.building_id"
            " JOIN regional_unit u ON u.id = ub.unit_id WHERE u.code = :c ORDER BY b.code"
        ),
        {"c": code},
    ).scalars()
    assert unit["served_buildings"] == list(served)


def _unit_and_community(session: Session) -> Any:
    return session.execute(
        text(
            "SELECT u.id, u.code, c.code AS community FROM regional_unit u"
            " JOIN area c ON c.id = u.community_id WHERE u.kind = '非公企业'"
            " ORDER BY u.code LIMIT 1"
        )
    ).one()


def test_signing_an_agreement_with_resources(db_session: Session, client_for: ClientFor) -> None:
    u = _unit_and_community(db_session)
    secretary = client_for(viewer("community_secretary", u.community))
    today = local_today()
    body = {
        "unit_code": u.code,
        "community_code": u.community,
        "signed_on": str(today),
        "starts_on": str(today),
        "ends_on": str(today + datetime.timedelta(days=730)),
        "content": "党建联建、资源共享",
        "resources": [
            {"category": "场地", "description": "会议室周末开放"},
            {"category": "志愿服务", "description": "青年志愿服务队"},
        ],
    }
    before = db_session.execute(text("SELECT count(*) FROM joint_agreement")).scalar_one()
    for bad, status in (
        ({"ends_on": str(today)}, 400),
        ({"signed_on": str(today + datetime.timedelta(days=2))}, 400),
        ({"resources": [{"category": "金钱", "description": "x"}]}, 422),
        ({"content": " "}, 422),
        ({"unit_code": "DW000000"}, 400),
    ):
        answer = secretary.post("/api/v1/regional/agreements", json={**body, **bad})
        assert answer.status_code == status, (bad, answer.text)
    outsider = client_for(viewer("community_secretary", u.community[:9] + "999"))
    assert outsider.post("/api/v1/regional/agreements", json=body).status_code == 403
    assert db_session.execute(text("SELECT count(*) FROM joint_agreement")).scalar_one() == before
    created = secretary.post("/api/v1/regional/agreements", json=body)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    rows = db_session.execute(
        text(
            "SELECT r.category, r.description FROM regional_resource r JOIN joint_agreement ja"
            " ON ja.id = r.agreement_id WHERE ja.code = :c ORDER BY r.id"
        ),
        {"c": code},
    ).all()
    assert [tuple(r) for r in rows] == [("场地", "会议室周末开放"), ("志愿服务", "青年志愿服务队")]
    unit = client_for(ANONYMOUS).get(f"/api/v1/regional/units/{u.code}").json()
    assert unit["joint"] and "joint" in unit["layers"]
    assert any(a["code"] == code and a["in_force"] for a in unit["agreements"])
    lists = secretary.get(f"/api/v1/regional/communities/{u.community}/lists").json()
    assert {"场地", "志愿服务"} <= {
        r["category"] for r in lists["resources"] if r["agreement_code"] == code
    }


def test_committee_seats_are_masked(db_session: Session, client_for: ClientFor) -> None:
    seat = db_session.execute(
        text(
            "SELECT s.name, a.code FROM regional_committee_seat s JOIN party_org o"
            " ON o.id = s.org_id JOIN area a ON a.id = o.area_id WHERE o.level = 'community'"
            " ORDER BY s.id LIMIT 1"
        )
    ).one()
    secretary = client_for(viewer("community_secretary", seat.code))
    answer = secretary.get("/api/v1/regional/committees", params={"purpose": "大党委联席会"})
    items = answer.json()["items"]
    assert items and items[0]["committee"] == "大党委"
    names = [s["name"] for i in items for s in i["seats"]]
    assert seat.name not in names and names
    assert (
        client_for(viewer("planner", seat.code)).get("/api/v1/regional/committees").status_code
        == 403
    )


def test_the_area_panel_counts(db_session: Session, client_for: ClientFor) -> None:
    community = db_session.execute(
        text(
            "SELECT c.code FROM area c WHERE c.level = 'community' AND c.valid_to IS NULL"
            " ORDER BY c.code LIMIT 1"
        )
    ).scalar_one()
    v = viewer("community_secretary", community)
    panel = client_for(v).get(f"/api/v1/regional/areas/{community}/panel").json()
    members = db_session.execute(
        text(
            "SELECT m.status, m.in_service, m.registered_community_id IS NOT NULL AS reported"
            " FROM party_member m JOIN resident r ON r.id = m.resident_id"
            " JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.parent_id ="
            " (SELECT id FROM area WHERE code = :c AND valid_to IS NULL)"
        ),
        {"c": community},
    ).all()
    in_service = [m for m in members if m.in_service]
    assert panel["members"]["members"] == len(members)
    assert panel["members"]["probationary"] == sum(1 for m in members if m.status == "预备党员")
    assert panel["members"]["in_service"] == len(in_service)
    assert panel["members"]["coverage"] == round(
        sum(1 for m in in_service if m.reported) / len(in_service), 4
    )
    expected = completeness(db_session, v, within=community, today=local_today())["totals"]
    assert panel["org_life"]["rate"] == expected["rate"]
    assert panel["org_life"]["branches"] == expected["branches"]
    units = db_session.execute(
        text(
            "SELECT count(*) FROM regional_unit u JOIN area c ON c.id = u.community_id"
            " WHERE c.code = :c AND u.resident"
        ),
        {"c": community},
    ).scalar_one()
    assert panel["layers"]["resident"] == units
