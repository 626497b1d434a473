"""Regional party building: units (驻区单位, 共建单位, 两新组织, 商圈党委, 红色物业, 业委会), their
共建协议 and resources (资源清单), the 大党委/大工委 seats, and the community's lists.

Units are organisations, not people: their names, kinds and places are public (the e-map shows
them to everyone). Part-time committee members (兼职委员) are people: their names are always
shown masked here (their contact belongs to their unit; gridgov keeps no phone for them).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.dual.registration import check_organiser, community_id
from gis.dual.statistics import check_reader
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.masking import mask_name
from gis.queries.households import effective_area, subtree_prefix
from gis.regional.vocabulary import BIG_COMMITTEE, LAYERS, layer_of
from gis.scope import Viewer

MAX_FEATURES = 5_000

# A unit with its layers' facts: whether an agreement is in force today, and its communities.
_UNITS = text(
    """
    SELECT u.id, u.code, u.name, u.kind, u.party_org_name, u.party_members, u.resident,
           u.address, c.code AS community_code, c.name AS community_name,
           rc.code AS registered_community_code, u.registered_on,
           EXISTS (SELECT 1 FROM joint_agreement ja WHERE ja.unit_id = u.id
                    AND ja.starts_on <= CAST(:today AS date)
                    AND ja.ends_on >= CAST(:today AS date)) AS joint,
           (SELECT count(*) FROM regional_unit_building ub WHERE ub.unit_id = u.id) AS buildings,
           ST_X(u.geom) AS lon, ST_Y(u.geom) AS lat
    FROM regional_unit u
    JOIN area c ON c.id = u.community_id
    LEFT JOIN area rc ON rc.id = u.registered_community_id
    WHERE (CAST(:prefix AS text) IS NULL OR c.code LIKE :prefix)
      AND (CAST(:code AS text) IS NULL OR u.code = :code)
      AND (CAST(:w AS float8) IS NULL
           OR u.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))
    ORDER BY u.code
    """
)


def _unit(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "party_org_name": row.party_org_name,
        "party_members": row.party_members,
        "resident": row.resident,
        "joint": row.joint,
        "layers": list(
            layer_of(
                row.kind,
                has_party_org=row.party_org_name is not None,
                resident=row.resident,
                joint=row.joint,
            )
        ),
        "address": row.address,
        "community_code": row.community_code,
        "community_name": row.community_name,
        "registered_community_code": row.registered_community_code,
        "registered_on": None if row.registered_on is None else row.registered_on.isoformat(),
        "buildings": row.buildings,
    }


def unit_features(
    session: Session,
    *,
    today: datetime.date,
    layer: str | None = None,
    within: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """Units as a GeoJSON FeatureCollection for the e-map, optionally one layer's only."""
    if layer is not None and layer not in LAYERS:
        raise InvalidInput(f"layer must be one of {', '.join(LAYERS)}", parameter="layer")
    w, s, e, n = bbox if bbox else (None, None, None, None)
    if bbox and not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):  # type: ignore[operator]
        raise InvalidInput("bbox is west,south,east,north in degrees", parameter="bbox")
    rows = session.execute(
        _UNITS,
        {
            "today": today,
            "prefix": None if within is None else subtree_prefix(within) + "%",
            "code": None,
            "w": w,
            "s": s,
            "e": e,
            "n": n,
        },
    ).all()
    features = []
    for row in rows:
        unit = _unit(row)
        if layer is not None and layer not in unit["layers"]:
            continue
        features.append(
            {
                "type": "Feature",
                "id": row.code,
                "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": unit,
            }
        )
        if len(features) >= MAX_FEATURES:
            break
    return {"type": "FeatureCollection", "features": features, "layers": LAYERS}


def get_unit(
    session: Session, viewer: Viewer, code: str, *, today: datetime.date
) -> dict[str, Any]:
    """One unit with its agreements, resources, served buildings, committee seats and projects."""
    row = session.execute(
        _UNITS,
        {"today": today, "prefix": None, "code": code, "w": None, "s": None, "e": None, "n": None},
    ).one_or_none()
    if row is None:
        raise NotFound(f"there is no unit {code}")
    unit = _unit(row)
    unit["agreements"] = [
        {
            "code": a.code,
            "community_code": a.community_code,
            "signed_on": a.signed_on.isoformat(),
            "starts_on": a.starts_on.isoformat(),
            "ends_on": a.ends_on.isoformat(),
            "in_force": a.starts_on <= today <= a.ends_on,
            "content": a.content,
        }
        for a in session.execute(
            text(
                "SELECT ja.*, c.code AS community_code FROM joint_agreement ja"
                " JOIN area c ON c.id = ja.community_id WHERE ja.unit_id = :u"
                " ORDER BY ja.starts_on DESC"
            ),
            {"u": row.id},
        )
    ]
    unit["resources"] = [
        {"category": r.category, "description": r.description, "agreement_code": r.agreement_code}
        for r in session.execute(
            text(
                "SELECT r.category, r.description, ja.code AS agreement_code"
                " FROM regional_resource r LEFT JOIN joint_agreement ja ON ja.id = r.agreement_id"
                " WHERE r.unit_id = :u ORDER BY r.id"
            ),
            {"u": row.id},
        )
    ]
    unit["served_buildings"] = list(
        session.execute(
            text(
                "SELECT b.code FROM regional_unit_building ub JOIN building b"
                " ON b.id = ub.building_id WHERE ub.unit_id = :u AND b.valid_to IS NULL"
                " ORDER BY b.code"
            ),
            {"u": row.id},
        ).scalars()
    )
    unit["committee_seats"] = [
        {
            "committee": s.committee,
            "org_name": s.org_name,
            "post": s.post,
            "name": mask_name(s.name),
            "term_end": s.term_end.isoformat(),
        }
        for s in session.execute(_SEATS, {"prefix": None, "unit": row.id})
    ]
    unit["projects"] = [
        dict(p._mapping)
        for p in session.execute(
            text(
                "SELECT o.code, o.title, o.status, o.letter_code, o.hours::float8 AS hours,"
                " o.rating, o.community_rating FROM service_order o WHERE o.unit_id = :u"
                " ORDER BY o.claimed_at DESC LIMIT 100"
            ),
            {"u": row.id},
        )
    ]
    return unit


_SEATS = text(
    """
    SELECT s.id, s.name, s.post, s.term_start, s.term_end, o.code AS org_code, o.name AS org_name,
           o.level, a.code AS area_code,
           CASE o.level WHEN 'street' THEN '大工委' ELSE '大党委' END AS committee,
           u.code AS unit_code, u.name AS unit_name
    FROM regional_committee_seat s
    JOIN party_org o ON o.id = s.org_id
    JOIN area a ON a.id = o.area_id
    JOIN regional_unit u ON u.id = s.unit_id
    WHERE (CAST(:prefix AS text) IS NULL OR a.code LIKE :prefix)
      AND (CAST(:unit AS bigint) IS NULL OR s.unit_id = :unit)
    ORDER BY a.code, s.post, s.id
    """
)


def committees(session: Session, viewer: Viewer, within: str | None) -> dict[str, Any]:
    """大党委 (communities) and 大工委 (streets) in scope, with their part-time members."""
    check_reader(viewer)
    area = effective_area(viewer, within)
    grouped: dict[str, dict[str, Any]] = {}
    for s in session.execute(_SEATS, {"prefix": subtree_prefix(area) + "%", "unit": None}):
        entry = grouped.setdefault(
            s.org_code,
            {
                "org_code": s.org_code,
                "org_name": s.org_name,
                "committee": BIG_COMMITTEE.get(s.level, s.committee),
                "area_code": s.area_code,
                "seats": [],
            },
        )
        entry["seats"].append(
            {
                "post": s.post,
                "name": mask_name(s.name),
                "unit_code": s.unit_code,
                "unit_name": s.unit_name,
                "term_start": s.term_start.isoformat(),
                "term_end": s.term_end.isoformat(),
            }
        )
    return {"within": area, "items": list(grouped.values())}


def create_agreement(
    session: Session,
    viewer: Viewer,
    *,
    unit_code: str,
    community_code: str,
    signed_on: datetime.date,
    starts_on: datetime.date,
    ends_on: datetime.date,
    content: str,
    resources: list[tuple[str, str]],
    today: datetime.date,
) -> dict[str, Any]:
    """Sign a 共建协议 between a unit and a community, with the resources the unit offers."""
    check_organiser(viewer, community_code)
    if ends_on <= starts_on:
        raise InvalidInput("ends_on must be after starts_on", parameter="ends_on")
    if signed_on > today:
        raise InvalidInput("signed_on cannot be in the future", parameter="signed_on")
    target = community_id(session, community_code)
    unit = session.execute(
        text("SELECT id, district_code FROM regional_unit WHERE code = :c"), {"c": unit_code}
    ).one_or_none()
    if unit is None:
        raise InvalidInput(f"there is no unit {unit_code}", parameter="unit_code")
    new_id = int(
        session.execute(
            text("SELECT nextval(pg_get_serial_sequence('joint_agreement', 'id'))")
        ).scalar_one()
    )
    code = f"GJ{signed_on:%Y}-{new_id:05d}"
    session.execute(
        text(
            "INSERT INTO joint_agreement (id, code, unit_id, community_id, signed_on, starts_on,"
            " ends_on, content, signed_by, district_code) VALUES (:id, :code, :u, :c, :signed,"
            " :starts, :ends, :content, :by, :dc)"
        ),
        {
            "id": new_id,
            "code": code,
            "u": unit.id,
            "c": target,
            "signed": signed_on,
            "starts": starts_on,
            "ends": ends_on,
            "content": content,
            "by": viewer.username or viewer.role,
            "dc": unit.district_code,
        },
    )
    for category, description in resources:
        session.execute(
            text(
                "INSERT INTO regional_resource (unit_id, agreement_id, category, description)"
                " VALUES (:u, :a, :cat, :d)"
            ),
            {"u": unit.id, "a": new_id, "cat": category, "d": description},
        )
    return {
        "code": code,
        "unit_code": unit_code,
        "community_code": community_code,
        "signed_on": signed_on.isoformat(),
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "in_force": starts_on <= today <= ends_on,
        "content": content,
        "resources": [{"category": c, "description": d} for c, d in resources],
    }


_LISTS = {
    # 需求清单 (一单): the community's needs and posts not yet taken.
    "needs": text(
        """
        SELECT o.id, o.code, o.origin, o.title, o.service_type, o.published_at
        FROM service_order o JOIN area c ON c.id = o.community_id
        WHERE c.code = :c AND o.origin <> 'resident' AND o.status = 'published'
        ORDER BY o.published_at DESC LIMIT 200
        """
    ),
    # 资源清单 (一库): what the units reporting to or building with the community offer.
    "resources": text(
        """
        SELECT DISTINCT r.id, u.code AS unit_code, u.name AS unit_name, r.category, r.description,
               ja.code AS agreement_code
        FROM regional_resource r JOIN regional_unit u ON u.id = r.unit_id
        LEFT JOIN joint_agreement ja ON ja.id = r.agreement_id
        JOIN area c ON c.code = :c
        WHERE u.registered_community_id = c.id OR ja.community_id = c.id
        ORDER BY u.code, r.id LIMIT 500
        """
    ),
    # 项目清单 with its 函 and 评: needs assigned to units by letter, their hours and ratings.
    "projects": text(
        """
        SELECT o.id, o.code, o.title, o.status, o.letter_code, u.code AS unit_code,
               u.name AS unit_name, ja.code AS agreement_code, o.claimed_at, o.done_at,
               o.hours::float8 AS hours, o.rating, o.community_rating
        FROM service_order o JOIN area c ON c.id = o.community_id
        JOIN regional_unit u ON u.id = o.unit_id
        LEFT JOIN joint_agreement ja ON ja.id = o.agreement_id
        WHERE c.code = :c
        ORDER BY o.claimed_at DESC LIMIT 200
        """
    ),
}


def community_lists(session: Session, viewer: Viewer, community_code: str) -> dict[str, Any]:
    """一单一库一函一评一表 of one community: needs, resources, projects (letter, rating)."""
    check_reader(viewer)
    if effective_area(viewer, community_code) != community_code:
        raise Forbidden(f"the community {community_code} is outside your scope {viewer.scope_code}")

    def rows(key: str) -> list[dict[str, Any]]:
        return [
            {
                k: (v.isoformat() if isinstance(v, datetime.date | datetime.datetime) else v)
                for k, v in r._mapping.items()
            }
            for r in session.execute(_LISTS[key], {"c": community_code})
        ]

    return {
        "community_code": community_code,
        "needs": rows("needs"),
        "resources": rows("resources"),
        "projects": rows("projects"),
    }
