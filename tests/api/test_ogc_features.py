"""OGC API – Features at /ogc against the demo city; expected values come from SQL in the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.security import get_viewer
from gis.collections import COLLECTIONS
from gis.masking import mask_name, mask_phone
from gis.scope import Viewer

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def walk(client: TestClient, url: str) -> Iterator[dict[str, Any]]:
    """Every page of an items URL, following rel=next."""
    next_url: str | None = url
    pages = 0
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        body = response.json()
        yield body
        next_url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
        assert pages < 1000


def test_landing_page_links(client: TestClient) -> None:
    body = client.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["self"].endswith("/ogc")
    assert rels["conformance"].endswith("/ogc/conformance")
    assert rels["data"].endswith("/ogc/collections")
    descs = {link["type"]: link["href"] for link in body["links"] if link["rel"] == "service-desc"}
    # OWSLib's API.api() takes the service-desc typed exactly this (owslib/ogcapi/__init__.py).
    oas30 = descs["application/vnd.oai.openapi+json;version=3.0"]
    assert oas30.endswith("/ogc/api")
    assert descs["application/vnd.oai.openapi+json;version=3.1"].endswith("/openapi.json")
    document = client.get(oas30)
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert document.json()["openapi"].startswith("3.0")
    api = document.json()
    assert api["servers"][0]["url"].endswith("/ogc")  # paths are relative to the OGC API root
    assert "/collections/{collection_id}/items" in api["paths"]
    assert not any(p.startswith(("/api/", "/open311")) for p in api["paths"])
    # each collection's queryables are query parameters of its own items path (GDAL reads them)
    grid_params = {p["name"] for p in api["paths"]["/collections/grids/items"]["get"]["parameters"]}
    assert {"code", "parent_code", "limit", "filter"} <= grid_params
    assert client.get(descs["application/vnd.oai.openapi+json;version=3.1"]).status_code == 200


def test_conformance_declares_core_geojson_crs(client: TestClient) -> None:
    classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_collections_list_public_layers_with_extent(
    client: TestClient, db_session: Session
) -> None:
    body = client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == [c for c in COLLECTIONS if c != "households"]  # personal: not for the public
    grids = next(c for c in body["collections"] if c["id"] == "grids")
    expected = db_session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e"
            " FROM area WHERE level = 'grid' AND valid_to IS NULL) x"
        )
    ).one()
    assert grids["extent"]["spatial"]["bbox"][0] == pytest.approx(list(expected))
    assert CRS84 in grids["crs"] and f"{EPSG}3857" in grids["crs"]
    assert any(link["rel"] == "items" for link in grids["links"])


def test_grid_items_match_sql(client: TestClient, db_session: Session) -> None:
    response = client.get("/ogc/collections/grids/items", params={"limit": 1000})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GEOJSON)
    assert response.headers["content-crs"] == f"<{CRS84}>"
    body = response.json()
    rows = db_session.execute(
        text(
            """
            SELECT a.code, a.name, p.code AS parent_code,
                   (SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id
                     WHERE b.grid_id = a.id) AS households,
                   (SELECT count(*) FROM building b WHERE b.grid_id = a.id) AS buildings,
                   (SELECT count(*) FROM incident i WHERE i.grid_id = a.id
                      AND i.status NOT IN ('closed', 'evaluated', 'rejected')) AS open_incidents,
                   EXISTS (SELECT 1 FROM party_org o WHERE o.area_id = a.id AND o.level = 'grid')
                     AS has_branch,
                   (SELECT count(*) FROM resident r JOIN household h ON h.id = r.household_id
                      JOIN building b ON b.id = h.building_id
                     WHERE b.grid_id = a.id) AS residents,
                   (SELECT count(*) FROM party_member m JOIN resident r ON r.id = m.resident_id
                      JOIN household h ON h.id = r.household_id
                      JOIN building b ON b.id = h.building_id
                     WHERE b.grid_id = a.id) AS party_members,
                   ST_Area(a.geom::geography) / 1e6 AS km2
              FROM area a JOIN area p ON p.id = a.parent_id
             WHERE a.level = 'grid' AND a.valid_to IS NULL ORDER BY a.code
            """
        )
    ).all()
    assert body["numberMatched"] == body["numberReturned"] == len(rows) > 0
    by_code = {f["id"]: f["properties"] for f in body["features"]}
    assert list(by_code) == [r.code for r in rows]
    for row in rows:
        props = by_code[row.code]
        assert props["name"] == row.name
        assert props["parent_code"] == row.parent_code
        assert props["households"] == row.households
        assert props["buildings"] == row.buildings
        assert props["open_incidents"] == row.open_incidents
        assert props["has_party_branch"] == row.has_branch
        assert props["residents"] == row.residents
        assert props["party_members"] == row.party_members
        assert props["area_km2"] == pytest.approx(row.km2, abs=1e-4)


@pytest.mark.parametrize(
    ("collection", "level"), [("streets", "street"), ("communities", "community")]
)
def test_upper_level_items_carry_people_counts(
    client: TestClient, db_session: Session, collection: str, level: str
) -> None:
    """Streets and communities list residents and party members too (precomputed counts),
    each equal to a count over the current grids of the area's subtree."""
    body = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1000}).json()
    rows = db_session.execute(
        text(
            """
            SELECT a.code,
                   (SELECT count(*) FROM area g WHERE g.level = 'grid' AND g.valid_to IS NULL
                      AND g.code LIKE s.sub || '%') AS grids,
                   (SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id
                      JOIN area g ON g.id = b.grid_id
                     WHERE b.valid_to IS NULL AND g.code LIKE s.sub || '%') AS households,
                   (SELECT count(*) FROM resident r JOIN household h ON h.id = r.household_id
                      JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id
                     WHERE b.valid_to IS NULL AND g.code LIKE s.sub || '%') AS residents,
                   (SELECT count(*) FROM party_member m JOIN resident r ON r.id = m.resident_id
                      JOIN household h ON h.id = r.household_id
                      JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id
                     WHERE b.valid_to IS NULL AND g.code LIKE s.sub || '%') AS party_members
              FROM area a,
                   LATERAL (SELECT CASE WHEN a.level = 'street' THEN left(a.code, 9)
                                        ELSE a.code END AS sub) s
             WHERE a.level = :level AND a.valid_to IS NULL ORDER BY a.code
            """
        ),
        {"level": level},
    ).all()
    by_code = {f["id"]: f["properties"] for f in body["features"]}
    assert list(by_code) == [r.code for r in rows] and rows
    for row in rows:
        for key in ("grids", "households", "residents", "party_members"):
            assert by_code[row.code][key] == getattr(row, key), (row.code, key)


def test_bbox_filter_matches_st_intersects(client: TestClient, db_session: Session) -> None:
    w, s, e, n = db_session.execute(
        text(
            "SELECT ST_XMin(x) + 0.3 * (ST_XMax(x) - ST_XMin(x)), ST_YMin(x) + 0.2 * "
            "(ST_YMax(x) - ST_YMin(x)), ST_XMin(x) + 0.6 * (ST_XMax(x) - ST_XMin(x)), "
            "ST_YMin(x) + 0.7 * (ST_YMax(x) - ST_YMin(x)) FROM (SELECT ST_Extent(geom) x "
            "FROM building WHERE valid_to IS NULL) q"
        )
    ).one()
    expected = (
        db_session.execute(
            text(
                "SELECT code FROM building WHERE valid_to IS NULL AND "
                "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) ORDER BY code"
            ),
            {"w": w, "s": s, "e": e, "n": n},
        )
        .scalars()
        .all()
    )
    body = client.get(
        "/ogc/collections/buildings/items", params={"bbox": f"{w},{s},{e},{n}", "limit": 10000}
    ).json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected) > 0
    # the same box given in EPSG:4326 is lat,lon
    body = client.get(
        "/ogc/collections/buildings/items",
        params={"bbox": f"{s},{w},{n},{e}", "bbox-crs": f"{EPSG}4326", "limit": 10000},
    ).json()
    assert [f["id"] for f in body["features"]] == expected


def test_paging_walks_the_collection_once(client: TestClient, db_session: Session) -> None:
    expected = (
        db_session.execute(text("SELECT code FROM building WHERE valid_to IS NULL ORDER BY code"))
        .scalars()
        .all()
    )
    seen: list[str] = []
    pages = list(walk(client, "/ogc/collections/buildings/items?limit=97"))
    for page in pages:
        assert page["numberMatched"] == len(expected)
        assert page["numberReturned"] == len(page["features"])
        seen.extend(f["id"] for f in page["features"])
    assert seen == expected
    assert len(pages) == -(-len(expected) // 97)
    second = pages[1]
    prev = next(link["href"] for link in second["links"] if link["rel"] == "prev")
    assert [f["id"] for f in client.get(prev).json()["features"]] == seen[:97]


def test_crs_3857_coordinates_match_st_transform(client: TestClient, db_session: Session) -> None:
    response = client.get(
        "/ogc/collections/service_facilities/items", params={"crs": f"{EPSG}3857", "limit": 500}
    )
    assert response.headers["content-crs"] == f"<{EPSG}3857>"
    expected = dict(
        db_session.execute(
            text(
                "SELECT code, ARRAY[ST_X(g), ST_Y(g)] FROM (SELECT code, "
                "ST_Transform(geom, 3857) g FROM service_facility) q"
            )
        ).all()
    )
    features = response.json()["features"]
    assert len(features) == len(expected)
    for feature in features:
        assert feature["geometry"]["coordinates"] == pytest.approx(
            expected[feature["id"]], abs=0.01
        )


@pytest.mark.parametrize("srid", [4326, 4490])
def test_epsg_geographic_crs_is_lat_lon(client: TestClient, db_session: Session, srid: int) -> None:
    code, lon, lat = db_session.execute(
        text(
            "SELECT code, ST_X(g), ST_Y(g) FROM (SELECT code, ST_Transform(geom, :srid) g "
            "FROM service_facility ORDER BY code LIMIT 1) q"
        ),
        {"srid": srid},
    ).one()
    response = client.get(
        f"/ogc/collections/service_facilities/items/{code}", params={"crs": f"{EPSG}{srid}"}
    )
    assert response.status_code == 200
    assert response.headers["content-crs"] == f"<{EPSG}{srid}>"
    assert response.json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-6)
    default = client.get(f"/ogc/collections/service_facilities/items/{code}").json()
    assert default["geometry"]["coordinates"][0] == pytest.approx(lon, abs=1e-5)


def test_single_feature_and_unknown_ids(client: TestClient, db_session: Session) -> None:
    code, name = db_session.execute(
        text("SELECT code, name FROM area WHERE level = 'street' AND valid_to IS NULL LIMIT 1")
    ).one()
    body = client.get(f"/ogc/collections/streets/items/{code}").json()
    assert body["id"] == code and body["properties"]["name"] == name
    missing = client.get("/ogc/collections/streets/items/000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
    assert client.get("/ogc/collections/nowhere").status_code == 404
    assert client.get("/ogc/collections/nowhere/items").json()["code"] == "NotFound"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"colour": "red"}, "colour"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "10,10,5,5"}, "bbox"),
        ({"bbox": "0,-95,1,1"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"crs": "EPSG:9999999"}, "crs"),
        ({"crs": "GCJ02"}, "crs"),
        ({"bbox-crs": f"{EPSG}3857"}, "bbox-crs"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"f": "html"}, "f"),
    ],
)
def test_bad_parameters_are_400_ogc_exceptions(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/ogc/collections/grids/items", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert parameter in body["description"]


def test_datetime_on_a_collection_without_time_matches_every_feature(client: TestClient) -> None:
    # OGC API – Features 1.0, 7.15.4: features without time match any datetime.
    everything = client.get("/ogc/collections/party_orgs/items", params={"limit": 1})
    dated = client.get(
        "/ogc/collections/party_orgs/items", params={"datetime": "2026-01-01", "limit": 1}
    )
    assert dated.status_code == 200, dated.text
    assert dated.json()["numberMatched"] == everything.json()["numberMatched"] > 0
    # ... but a malformed datetime is still a 400.
    bad = client.get("/ogc/collections/party_orgs/items", params={"datetime": "yesterday"})
    assert bad.status_code == 400 and "datetime" in bad.json()["description"]


def test_incident_datetime_interval_and_instant(client: TestClient, db_session: Session) -> None:
    start, end = db_session.execute(
        text(
            "SELECT min(reported_at) + interval '10 days', min(reported_at) + interval '20 days' "
            "FROM incident"
        )
    ).one()
    expected = (
        db_session.execute(
            text("SELECT code FROM incident WHERE reported_at BETWEEN :a AND :b ORDER BY code"),
            {"a": start, "b": end},
        )
        .scalars()
        .all()
    )
    interval = f"{start.isoformat()}/{end.isoformat()}"
    body = client.get(
        "/ogc/collections/incidents/items", params={"datetime": interval, "limit": 10000}
    ).json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected) > 0
    open_ended = client.get(
        "/ogc/collections/incidents/items",
        params={"datetime": f"{start.isoformat()}/..", "limit": 1},
    ).json()
    later = db_session.execute(
        text("SELECT count(*) FROM incident WHERE reported_at >= :a"), {"a": start}
    ).scalar_one()
    assert open_ended["numberMatched"] == later
    code, at = db_session.execute(
        text("SELECT code, reported_at FROM incident ORDER BY code LIMIT 1")
    ).one()
    instant = client.get(
        "/ogc/collections/incidents/items", params={"datetime": at.isoformat()}
    ).json()
    assert code in [f["id"] for f in instant["features"]]


def test_area_versions_by_datetime(client: TestClient, db_session: Session) -> None:
    """A redrawn grid: the current version by default, the old one at an earlier instant."""
    grid = db_session.execute(
        text(
            "SELECT id, code, name, valid_from FROM area WHERE level = 'grid' "
            "AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    db_session.execute(
        text("UPDATE area SET valid_to = valid_from + interval '1 hour' WHERE id = :id"),
        {"id": grid.id},
    )
    db_session.execute(
        text(
            "INSERT INTO area (level, code, name, kind, parent_id, district_code, geom, version,"
            " valid_from) SELECT level, code, name || '（新）', kind, parent_id, district_code,"
            " geom, version + 1, valid_from + interval '1 hour' FROM area WHERE id = :id"
        ),
        {"id": grid.id},
    )
    current = client.get(f"/ogc/collections/grids/items/{grid.code}").json()
    assert current["properties"]["name"] == grid.name + "（新）"
    assert current["properties"]["version"] == 2
    early = grid.valid_from.timestamp() + 60
    from datetime import UTC, datetime

    instant = datetime.fromtimestamp(early, UTC).isoformat()
    body = client.get(
        "/ogc/collections/grids/items", params={"datetime": instant, "code": grid.code}
    ).json()
    assert [f["properties"]["name"] for f in body["features"]] == [grid.name]
    default = client.get("/ogc/collections/grids/items", params={"code": grid.code}).json()
    assert [f["properties"]["version"] for f in default["features"]] == [2]


def test_property_filter_by_equality(client: TestClient, db_session: Session) -> None:
    expected = db_session.execute(
        text("SELECT count(*) FROM incident WHERE status = 'closed'")
    ).scalar_one()
    body = client.get(
        "/ogc/collections/incidents/items", params={"status": "closed", "limit": 1}
    ).json()
    assert body["numberMatched"] == expected > 0


def test_incidents_hide_reporters_from_the_public(client: TestClient) -> None:
    body = client.get("/ogc/collections/incidents/items", params={"limit": 10000}).json()
    for feature in body["features"]:
        assert "reporter_name" not in feature["properties"]
        assert "reporter_phone" not in feature["properties"]


def _as(client: TestClient, viewer: Viewer) -> None:
    client.app.dependency_overrides[get_viewer] = lambda: viewer  # type: ignore[attr-defined]


def test_incident_reporters_unmasked_in_scope_masked_outside(
    client: TestClient, db_session: Session
) -> None:
    rows = db_session.execute(
        text(
            "SELECT i.code, i.reporter_name, i.reporter_phone, g.code AS grid FROM incident i "
            "JOIN area g ON g.id = i.grid_id WHERE i.reporter_name IS NOT NULL ORDER BY i.code"
        )
    ).all()
    assert rows
    scope = rows[0].grid[:12]
    _as(client, Viewer("chief", "community_secretary", scope))
    masked = client.get("/ogc/collections/incidents/items", params={"limit": 10000}).json()
    masked_names = {f["id"]: f["properties"]["reporter_name"] for f in masked["features"]}
    assert all(masked_names[row.code] == mask_name(row.reporter_name) for row in rows)
    # A purpose, as a header: OGC clients (QGIS, GDAL) can set headers but keep their URLs.
    body = client.get(
        "/ogc/collections/incidents/items",
        params={"limit": 10000},
        headers={"X-Purpose": "case-review"},
    ).json()
    props = {f["id"]: f["properties"] for f in body["features"]}
    for row in rows:
        inside = row.grid.startswith(scope)
        name = row.reporter_name if inside else mask_name(row.reporter_name)
        phone = row.reporter_phone if inside else mask_phone(row.reporter_phone)
        assert props[row.code]["reporter_name"] == name
        assert props[row.code]["reporter_phone"] == phone


def test_households_need_a_role_and_are_scoped(client: TestClient, db_session: Session) -> None:
    anonymous = client.get("/ogc/collections/households/items")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "Unauthorized"
    _as(client, Viewer("op", "command_operator", "620881"))
    assert client.get("/ogc/collections/households/items").status_code == 403
    grid = db_session.execute(
        text(
            "SELECT code FROM area WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).scalar_one()
    _as(client, Viewer("chief", "grid_chief", grid))
    expected = db_session.execute(
        text(
            "SELECT h.code, r.name, r.phone FROM household h"
            " JOIN building b ON b.id = h.building_id JOIN area g ON g.id = b.grid_id"
            " LEFT JOIN resident r ON r.household_id = h.id AND r.relation = '户主'"
            " WHERE g.code = :grid ORDER BY h.code"
        ),
        {"grid": grid},
    ).all()
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert "households" in ids
    masked = client.get("/ogc/collections/households/items", params={"limit": 10000}).json()
    assert masked["features"][0]["properties"]["head_name"] == mask_name(expected[0].name)
    body = client.get(
        "/ogc/collections/households/items", params={"limit": 10000, "purpose": "入户走访"}
    ).json()
    assert [f["id"] for f in body["features"]] == [r.code for r in expected]
    first = body["features"][0]["properties"]
    assert first["head_name"] == expected[0].name
    assert first["head_phone"] == expected[0].phone
    logged = db_session.execute(
        text(
            "SELECT action, purpose, subjects, detail FROM audit_log WHERE username = 'chief'"
            " ORDER BY id"
        )
    ).all()
    assert [(r.action, r.purpose) for r in logged] == [
        ("read.masked_bulk", None),
        ("read.unmasked", "入户走访"),
    ]
    assert sorted(logged[1].subjects) == sorted(f"household:{r.code}" for r in expected)


def test_grid_tiles_carry_area_and_party_members(client: TestClient, db_session: Session) -> None:
    """The thematic maps (members per 100 households, density) read these from grid tiles."""
    import math

    import mapbox_vector_tile

    from gis.queries.tiles import invalidate_tile_cache

    invalidate_tile_cache()
    lon, lat = db_session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) x"
        )
    ).one()
    z = 13
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    response = client.get(f"/ogc/collections/grids/tiles/WebMercatorQuad/{z}/{x}/{y}")
    features = mapbox_vector_tile.decode(response.content)["grids"]["features"]
    expected = dict(
        db_session.execute(
            text(
                "SELECT code, ST_Area(geom::geography) / 1e6 FROM area "
                "WHERE level = 'grid' AND valid_to IS NULL"
            )
        ).all()
    )
    assert features
    for feature in features:
        props = feature["properties"]
        assert props["area_km2"] == pytest.approx(expected[props["code"]], abs=1e-4)
        assert props["party_members"] >= 0


# --- OGC API – Features core, to the letter (issue 18, item 5) ------------------------------


def test_limit_above_the_maximum_uses_the_maximum(client: TestClient, db_session: Session) -> None:
    response = client.get("/ogc/collections/grids/items", params={"limit": 10_000_000})
    assert response.status_code == 200, response.text[:300]
    grids = db_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'grid' AND valid_to IS NULL")
    ).scalar_one()
    assert response.json()["numberReturned"] == min(grids, 10_000)
    assert client.get("/ogc/collections/grids/items", params={"limit": 0}).status_code == 400


def test_temporal_extent_uses_the_gregorian_uom_uri(client: TestClient) -> None:
    incidents = client.get("/ogc/collections/incidents").json()
    assert (
        incidents["extent"]["temporal"]["trs"]
        == "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/grids",
        "/ogc/collections/grids/items?limit=2",
        "/ogc/tileMatrixSets",
    ],
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""


def test_safe_curie_crs_is_accepted(client: TestClient) -> None:
    curie = client.get("/ogc/collections/grids/items", params={"crs": "[EPSG:4490]", "limit": 1})
    uri = client.get(
        "/ogc/collections/grids/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4490", "limit": 1},
    )
    assert curie.status_code == 200, curie.text[:300]
    assert curie.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    assert curie.json()["features"] == uri.json()["features"]


def test_openapi_types_limit_and_bbox_for_generic_clients(client: TestClient) -> None:
    for url, path in (
        ("/openapi.json", "/ogc/collections/{collection_id}/items"),
        ("/ogc/api", "/collections/{collection_id}/items"),
    ):
        operation = client.get(url).json()["paths"][path]
        params = {p["name"]: p for p in operation["get"]["parameters"]}
        assert params["limit"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 10_000,
            "default": 100,
        }
        assert params["bbox"]["schema"]["type"] == "array"
        assert params["bbox"]["schema"]["items"] == {"type": "number"}
        assert params["bbox"]["explode"] is False


def test_small_building_pages_match_sql_and_count_past_the_end(
    client: TestClient, db_session: Session
) -> None:
    # The page probes party organisations per returned row and the count reads only building
    # (gis/sql/features_buildings.sql): the answers are those of the plain joins.
    total = db_session.execute(
        text("SELECT count(*) FROM building WHERE valid_to IS NULL")
    ).scalar_one()
    expected = db_session.execute(
        text(
            "SELECT b.code, g.code AS grid_code, EXISTS (SELECT 1 FROM party_org o "
            "WHERE o.level = 'building' AND o.building_id = b.id) AS has_party_group "
            "FROM building b JOIN area g ON g.id = b.grid_id WHERE b.valid_to IS NULL "
            "ORDER BY b.code LIMIT 10 OFFSET 20"
        )
    ).all()
    assert any(r.has_party_group for r in expected) or total < 40
    body = client.get("/ogc/collections/buildings/items?limit=10&offset=20").json()
    assert body["numberMatched"] == total
    assert [
        (f["id"], f["properties"]["grid_code"], f["properties"]["has_party_group"])
        for f in body["features"]
    ] == [tuple(r) for r in expected]
    past = client.get(f"/ogc/collections/buildings/items?limit=10&offset={total + 5}").json()
    assert past["numberReturned"] == 0
    assert past["numberMatched"] == total  # counted: a page past the end says nothing of it
    assert not [link for link in past["links"] if link["rel"] == "next"]
