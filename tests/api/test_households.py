"""/api/v1/households: scoped to the caller's subtree, masked by default, audited when unmasked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.masking import mask_id_number, mask_name, mask_phone
from gis.queries.households import subtree_prefix
from tests.api.security_helpers import DemoAreas, add_account, demo_areas, token_for


@pytest.fixture
def areas(db_session: Session) -> DemoAreas:
    return demo_areas(db_session)


def _as(db_session: Session, username: str, role: str, scope: str) -> dict[str, str]:
    add_account(db_session, username, role, scope)
    return {"Authorization": f"Bearer {token_for(db_session, username)}"}


def _households_in(session: Session, prefix: str) -> list[Any]:
    return session.execute(
        text(
            "SELECT h.code, g.code AS grid_code,"
            " (SELECT r.name FROM resident r WHERE r.household_id = h.id"
            "   ORDER BY (r.relation = '户主') DESC, r.id LIMIT 1) AS head"
            " FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.code LIKE :p ORDER BY h.code"
        ),
        {"p": subtree_prefix(prefix) + "%"},
    ).all()


def _audit(session: Session, username: str) -> list[Any]:
    return session.execute(
        text(
            "SELECT action, target, purpose, detail FROM audit_log"
            " WHERE username = :u AND action = 'read.unmasked' ORDER BY id"
        ),
        {"u": username},
    ).all()


def test_a_grid_chief_lists_his_grid_masked(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "chief", "grid_chief", areas.grid)
    expected = _households_in(db_session, areas.grid)
    response = client.get("/api/v1/households", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["within"] == areas.grid and page["total"] == len(expected)
    assert [i["code"] for i in page["items"]] == [r.code for r in expected]
    for item, row in zip(page["items"], expected, strict=True):
        assert item["grid_code"] == areas.grid
        assert item["head_name"] == mask_name(row.head) and item["masked"] is True
    assert _audit(db_session, "chief") == []


def test_unmasking_needs_a_purpose_and_is_audited(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "chief", "grid_chief", areas.grid)
    expected = _households_in(db_session, areas.grid)[:20]
    response = client.get(
        "/api/v1/households",
        params={"limit": 20, "purpose": "入户走访"},
        headers=headers,
    )
    items = response.json()["items"]
    assert [i["head_name"] for i in items] == [r.head for r in expected]
    assert all(i["masked"] is False for i in items)
    rows = _audit(db_session, "chief")
    assert [(r.action, r.target, r.purpose, r.detail) for r in rows] == [
        ("read.unmasked", f"households:{areas.grid}", "入户走访", {"rows": 20})
    ]


def test_within_narrows_to_the_scope_and_refuses_outside_it(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    chief = _as(db_session, "chief", "grid_chief", areas.grid)
    ancestor = client.get("/api/v1/households", params={"within": areas.district}, headers=chief)
    assert ancestor.json()["within"] == areas.grid
    assert ancestor.json()["total"] == len(_households_in(db_session, areas.grid))
    sibling = client.get("/api/v1/households", params={"within": areas.sibling_grid}, headers=chief)
    assert sibling.status_code == 403
    assert areas.sibling_grid in sibling.json()["detail"]
    secretary = _as(db_session, "sec", "community_secretary", areas.community)
    ok = client.get("/api/v1/households", params={"within": areas.sibling_grid}, headers=secretary)
    assert ok.json()["total"] == len(_households_in(db_session, areas.sibling_grid))
    whole = client.get("/api/v1/households", params={"limit": 1}, headers=secretary)
    assert whole.json()["total"] == len(_households_in(db_session, areas.community))


def test_paging_follows_the_code_order(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "sec", "street_secretary", areas.street)
    expected = [r.code for r in _households_in(db_session, areas.street)]
    assert len(expected) > len(_households_in(db_session, areas.community)) > 0
    first = client.get("/api/v1/households", params={"limit": 7, "offset": 5}, headers=headers)
    assert [i["code"] for i in first.json()["items"]] == expected[5:12]
    past = client.get("/api/v1/households", params={"offset": len(expected) + 10}, headers=headers)
    assert past.json()["items"] == [] and past.json()["total"] == 0


@pytest.mark.parametrize(("role", "status"), [("party_member", 403), (None, 401)])
def test_roles_without_need_get_nothing(
    client: TestClient, db_session: Session, areas: DemoAreas, role: str | None, status: int
) -> None:
    headers = _as(db_session, "member", role, areas.community) if role else {}
    response = client.get("/api/v1/households", headers=headers)
    assert response.status_code == status
    code = _households_in(db_session, areas.grid)[0].code
    assert client.get(f"/api/v1/households/{code}", headers=headers).status_code == status


def _residents(session: Session, code: str) -> list[Any]:
    return session.execute(
        text(
            "SELECT r.name, r.gender, r.birth_year, r.id_number, r.phone, r.relation,"
            " r.special_groups, (pm.id IS NOT NULL) AS party_member"
            " FROM resident r JOIN household h ON h.id = r.household_id"
            " LEFT JOIN party_member pm ON pm.resident_id = r.id"
            " WHERE h.code = :c ORDER BY (r.relation = '户主') DESC, r.id"
        ),
        {"c": code},
    ).all()


def test_household_detail_masked_and_unmasked(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "worker", "grid_worker", areas.grid)
    code = _households_in(db_session, areas.grid)[0].code
    expected = _residents(db_session, code)
    masked = client.get(f"/api/v1/households/{code}", headers=headers).json()
    assert masked["masked"] is True and masked["grid_code"] == areas.grid
    assert masked["residents"] == [
        {
            "name": mask_name(r.name),
            "gender": r.gender,
            "birth_year": r.birth_year,
            "id_number": mask_id_number(r.id_number),
            "phone": mask_phone(r.phone),
            "relation": r.relation,
            "special_groups": r.special_groups,
            "party_member": r.party_member,
        }
        for r in expected
    ]
    assert _audit(db_session, "worker") == []
    plain = client.get(
        f"/api/v1/households/{code}", params={"purpose": "核实人口"}, headers=headers
    ).json()
    assert plain["masked"] is False
    assert [(p["name"], p["id_number"], p["phone"]) for p in plain["residents"]] == [
        (r.name, r.id_number, r.phone) for r in expected
    ]
    rows = _audit(db_session, "worker")
    assert [(r.target, r.purpose, r.detail) for r in rows] == [
        (f"household:{code}", "核实人口", {"rows": len(expected)})
    ]


def test_out_of_scope_household_looks_missing(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "chief", "grid_chief", areas.grid)
    outside = _households_in(db_session, areas.sibling_grid)[0].code
    response = client.get(
        f"/api/v1/households/{outside}", params={"purpose": "x" * 5}, headers=headers
    )
    assert response.status_code == 404
    missing = client.get("/api/v1/households/620881H999999999", headers=headers)
    assert missing.status_code == 404
    assert response.json()["title"] == missing.json()["title"]
    assert _audit(db_session, "chief") == []


def test_planners_see_households_masked_even_with_a_purpose(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    headers = _as(db_session, "plan", "planner", areas.district)
    code = _households_in(db_session, areas.grid)[0].code
    body = client.get(
        f"/api/v1/households/{code}", params={"purpose": "规划"}, headers=headers
    ).json()
    assert body["masked"] is True
    assert all("*" in r["name"] for r in body["residents"])
    assert _audit(db_session, "plan") == []


def test_masked_answers_are_generalised_and_bulk_reads_audited(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    """Masked still must not identify: the building instead of the flat, and for a role
    without the need no ID number, phone, gender or birth year (docs/security.md table)."""
    flat = db_session.execute(
        text(
            "SELECT h.code, h.address, h.unit, h.floor, h.room, b.address AS building"
            " FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id WHERE g.code = :g ORDER BY h.code LIMIT 1"
        ),
        {"g": areas.grid},
    ).one()
    assert flat.address != flat.building
    planner = _as(db_session, "plan", "planner", areas.district)
    body = client.get(f"/api/v1/households/{flat.code}", headers=planner).json()
    assert (body["address"], body["unit"], body["floor"], body["room"]) == (
        flat.building,
        None,
        None,
        None,
    )
    expected = _residents(db_session, flat.code)
    assert [
        (r["name"], r["id_number"], r["phone"], r["gender"], r["birth_year"])
        for r in body["residents"]
    ] == [(e.name[0] + "*" * (len(e.name) - 1), None, None, None, None) for e in expected]
    page = client.get(
        "/api/v1/households", params={"within": areas.grid, "limit": 5}, headers=planner
    ).json()
    assert all(i["unit"] is None and i["room"] is None for i in page["items"])
    bulk = db_session.execute(
        text("SELECT action, target, area_code, detail FROM audit_log WHERE username = 'plan'")
    ).all()
    assert [(b.action, b.target, b.area_code, b.detail) for b in bulk] == [
        ("read.masked_bulk", f"households:{areas.grid}", areas.grid, {"rows": 5})
    ]
    # The worker in scope, without a purpose: masked, the building only, gender and year kept.
    worker = _as(db_session, "worker", "grid_worker", areas.grid)
    masked = client.get(f"/api/v1/households/{flat.code}", headers=worker).json()
    assert masked["address"] == flat.building and masked["room"] is None
    assert [r["birth_year"] for r in masked["residents"]] == [e.birth_year for e in expected]
    exact = client.get(
        f"/api/v1/households/{flat.code}", params={"purpose": "入户走访"}, headers=worker
    ).json()
    assert (exact["address"], exact["unit"], exact["floor"], exact["room"]) == (
        flat.address,
        flat.unit,
        flat.floor,
        flat.room,
    )


@pytest.mark.parametrize(
    "params",
    [
        {"within": "62088' OR '1'='1"},
        {"within": "6208810010010011"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"purpose": "x" * 201},
    ],
)
def test_bad_parameters_are_422_with_the_parameter_named(
    client: TestClient, db_session: Session, areas: DemoAreas, params: dict[str, Any]
) -> None:
    headers = _as(db_session, "chief", "grid_chief", areas.grid)
    response = client.get("/api/v1/households", params=params, headers=headers)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"]


def _group_counts(session: Session, grid: str) -> list[Any]:
    """Households of a grid per special group of any of their residents, largest first."""
    return session.execute(
        text(
            "SELECT gr, array_agg(DISTINCT h.code ORDER BY h.code) AS codes"
            " FROM resident r, unnest(r.special_groups) gr, household h, building b, area g"
            " WHERE h.id = r.household_id AND b.id = h.building_id AND g.id = b.grid_id"
            " AND g.code = :g GROUP BY gr ORDER BY count(DISTINCT h.id) DESC, gr"
        ),
        {"g": grid},
    ).all()


def test_special_groups_are_flagged_and_filterable_by_roles_that_work_with_people(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    counts = _group_counts(db_session, areas.grid)
    assert counts, "the demo city flags special groups in every sizeable grid"
    group, codes = counts[0]
    chief = _as(db_session, "chief", "grid_chief", areas.grid)
    response = client.get(
        "/api/v1/households", params={"group": group, "limit": 500}, headers=chief
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert [i["code"] for i in page["items"]] == codes and page["total"] == len(codes)
    assert all(group in i["special_groups"] for i in page["items"])
    # The masked listing is still logged as a bulk read, and says what was asked for.
    ((detail,),) = db_session.execute(
        text(
            "SELECT detail FROM audit_log WHERE username = 'chief'"
            " AND action = 'read.masked_bulk' ORDER BY id DESC LIMIT 1"
        )
    ).all()
    assert detail["group"] == group
    # One household: the resident in the group carries it.
    one = client.get(f"/api/v1/households/{codes[0]}", headers=chief).json()
    assert any(group in r["special_groups"] for r in one["residents"])
    # Roles without the need neither see the groups nor may filter by them.
    planner = _as(db_session, "planner1", "planner", areas.district)
    listed = client.get(
        "/api/v1/households", params={"within": areas.grid, "limit": 500}, headers=planner
    ).json()
    assert all(i["special_groups"] == [] for i in listed["items"])
    refused = client.get("/api/v1/households", params={"group": group}, headers=planner)
    assert refused.status_code == 403 and "special group" in refused.json()["detail"]
    unknown = client.get("/api/v1/households", params={"group": "vip"}, headers=chief)
    assert unknown.status_code == 400 and "elderly_alone" in unknown.json()["detail"]


def test_search_finds_households_by_address_code_and_resident_name(
    client: TestClient, db_session: Session, areas: DemoAreas
) -> None:
    chief = _as(db_session, "chief", "grid_chief", areas.grid)
    row = db_session.execute(
        text(
            "SELECT h.code, h.address, r.name FROM household h"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " JOIN resident r ON r.household_id = h.id WHERE g.code = :g"
            " ORDER BY h.code DESC, r.id LIMIT 1"
        ),
        {"g": areas.grid},
    ).one()
    by_code = client.get("/api/v1/households", params={"q": row.code}, headers=chief).json()
    assert [i["code"] for i in by_code["items"]] == [row.code]
    by_name = client.get("/api/v1/households", params={"q": row.name}, headers=chief).json()
    assert row.code in [i["code"] for i in by_name["items"]]
    expected = db_session.execute(
        text(
            "SELECT count(DISTINCT h.id) FROM household h JOIN building b ON b.id = h.building_id"
            " JOIN area g ON g.id = b.grid_id JOIN resident r ON r.household_id = h.id"
            " WHERE g.code = :g AND (r.name LIKE :p OR h.address LIKE :p OR h.code = :q)"
        ),
        {"g": areas.grid, "p": f"%{row.name}%", "q": row.name},
    ).scalar_one()
    assert by_name["total"] == expected
    # A planner cannot probe names: the same search by name finds nothing for that role.
    planner = _as(db_session, "planner1", "planner", areas.district)
    probe = client.get(
        "/api/v1/households", params={"q": row.name, "within": areas.grid}, headers=planner
    ).json()
    assert probe["total"] == len([i for i in probe["items"] if row.name in i["address"]])
    blank = client.get("/api/v1/households", params={"q": "  "}, headers=chief)
    assert blank.status_code == 400
