"""The e-map's party-building panel of one area: members by type, 双报到 coverage, 三会一课
completeness (gis/orglife's rule, imported), and the regional units on each layer.

For the party-work roles, in their scope (the counts are not personal, but they are the
party's internal figures; the public e-map shows the layers without the panel).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.dual.statistics import check_reader, statistics
from gis.errors import Forbidden
from gis.orglife.completeness import completeness
from gis.queries.households import effective_area, subtree_prefix
from gis.regional.units import unit_features
from gis.regional.vocabulary import LAYERS
from gis.scope import Viewer

_MEMBERS = text(
    """
    SELECT count(*) AS members,
           count(*) FILTER (WHERE m.status = '正式党员') AS full_members,
           count(*) FILTER (WHERE m.status = '预备党员') AS probationary,
           count(*) FILTER (WHERE m.in_service) AS in_service,
           count(*) FILTER (WHERE NOT m.in_service) AS not_in_service,
           count(*) FILTER (WHERE m.in_service AND m.registered_community_id IS NOT NULL)
               AS in_service_reported
    FROM party_member m JOIN resident r ON r.id = m.resident_id
    JOIN household h ON h.id = r.household_id JOIN building b ON b.id = h.building_id
    JOIN area g ON g.id = b.grid_id
    WHERE g.code LIKE :prefix AND g.valid_to IS NULL
    """
)


def area_panel(
    session: Session, viewer: Viewer, code: str, *, today: datetime.date
) -> dict[str, Any]:
    """The party-building figures of one area in the viewer's scope."""
    check_reader(viewer)
    if effective_area(viewer, code) != code:
        raise Forbidden(f"the area {code} is outside your scope {viewer.scope_code}")
    prefix = subtree_prefix(code) + "%"
    m = session.execute(_MEMBERS, {"prefix": prefix}).one()
    members: dict[str, Any] = {k: int(v) for k, v in m._mapping.items()}
    members["coverage"] = (
        round(members["in_service_reported"] / members["in_service"], 4)
        if members["in_service"]
        else None
    )
    dual = statistics(session, viewer, within=code, year=today.year)["totals"]
    quarter = completeness(session, viewer, within=code, today=today)
    orglife = quarter["totals"]
    units = unit_features(session, today=today, within=code)["features"]
    layers = {key: sum(1 for f in units if key in f["properties"]["layers"]) for key in LAYERS}
    return {
        "code": code,
        "as_of": today.isoformat(),
        "members": members,
        "dual": dual,
        "org_life": {
            "quarter": quarter["quarter"],
            "branches": orglife["branches"],
            "complete_branches": orglife["complete_branches"],
            "met": orglife["met"],
            "missed": orglife["missed"],
            "rate": orglife["rate"],
        },
        "layers": layers,
    }
