"""What is at a point: street, community, grid, building, the grid's people and party branch.

Boundaries, buildings, party organisations and facilities are public. The names and phones of
grid staff and party secretaries are personal: shown by the disclosure rule (a role that needs
them, the grid in its scope, a stated purpose) and then audited; otherwise masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import audit
from gis.masking import mask_name, mask_phone
from gis.queries.spatial_params import point_to_wgs84
from gis.scope import Viewer
from gis.sqlfiles import read_sql

STAFF_ROLES = {"chief": "chief", "worker": "workers", "instructor": "instructors"}
# Built once: a text() parses its bind parameters when made, and locate is a hot path.
_LOCATE_SQL = text(read_sql("locate.sql"))


def locate(
    session: Session,
    viewer: Viewer,
    lon: float,
    lat: float,
    crs: str | None = None,
    *,
    target: str | None = None,
) -> dict[str, Any]:
    """Resolve a point (in ``crs``, default WGS84) to the areas and people responsible for it.

    The grid is the database's ``grid_at`` rule (comprehensive grid first, then the lowest
    code), as for intake and routing. Outside every grid the area fields are null and
    ``nearest_grid`` gives the closest grid and its geodesic distance in metres.
    """
    wlon, wlat = point_to_wgs84(lon, lat, crs)
    row = session.execute(_LOCATE_SQL, {"lon": wlon, "lat": wlat}).mappings().one()
    grid = row["grid"]
    unmask = grid is not None and viewer.unmasks(grid["code"])
    shown: list[str] = []

    def person(person_id: int | None, name: str | None, phone: str | None) -> dict[str, Any]:
        if unmask:
            if person_id is not None:
                shown.append(audit.subject("person", person_id))
            return {"name": name, "phone": phone, "masked": False}
        return {"name": mask_name(name), "phone": mask_phone(phone), "masked": True}

    staff: dict[str, Any] = {"chief": None, "workers": [], "instructors": []}
    for member in row["staff"]:
        entry = {
            **person(member["id"], member["name"], member["phone"]),
            "title": member["title"],
        }
        key = STAFF_ROLES[member["role"]]
        if key == "chief":
            staff["chief"] = entry
        else:
            staff[key].append(entry)
    branch = row["party_branch"]
    if branch is not None:
        secretary = (
            person(
                branch.get("secretary_id"),
                branch.pop("secretary_name"),
                branch.pop("secretary_phone"),
            )
            if branch.get("secretary_name")
            else None
        )
        branch.pop("secretary_id", None)
        branch.pop("secretary_name", None)
        branch.pop("secretary_phone", None)
        branch["secretary"] = secretary
    centre = row["service_centre"]
    if centre is not None:
        centre["distance_m"] = round(float(centre["distance_m"]), 2)
    nearest = row["nearest_grid"]
    if nearest is not None:
        nearest["distance_m"] = round(float(nearest["distance_m"]), 2)
    if shown and grid is not None:
        audit.disclose(session, viewer, target or f"locate:{grid['code']}", subjects=shown)
    return {
        "point": {"lon": wlon, "lat": wlat, "crs": "EPSG:4326"},
        "street": row["street"],
        "community": row["community"],
        "grid": grid,
        "building": row["building"],
        "staff": staff if grid is not None else None,
        "party_branch": branch,
        "service_centre": centre,
        "nearest_grid": nearest,
    }
