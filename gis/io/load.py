"""The atomic load of prepared records: all rows in the caller's transaction, or none.

Rows are matched to what is there by code (households by building, unit and room, residents by
ID number, else by name within the household) and counted as inserted, updated or unchanged.
Areas keep their history. Grids are written by the boundary editor's writer
(:mod:`gis.boundaries.imports`): per community one committed changeset with the editor's
validation, new versions, lineage, and buildings, open incidents and facilities re-pointed.
A changed street or community gets a new version (the old one is closed) and whatever pointed at
the old version (child areas, buildings, facilities, party organisations, member registrations)
is repointed to the new one.
Buildings, households and the point layers are updated in place.

Functions here never commit. :func:`apply` catches a database refusal, and raises
:class:`LoadRefused` with the database's message in plain words; the caller rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis.boundaries import imports as boundary_imports
from gis.errors import Conflict
from gis.incidents.intake import CASE_CODE, case_code
from gis.incidents.workcalendar import CST
from gis.io.validate import AREA_LEVEL, Prepared
from gis.queries.area_stats import refresh_area_stats
from gis.scope import Viewer

Progress = Callable[[int, int], None]
MACHINE_OPERATOR = Viewer("cli", boundary_imports.MACHINE_OPERATOR_ROLE, None)
BATCH = 500


class LoadRefused(Conflict):
    """The database refused a row although the dry run passed (e.g. a concurrent change)."""


def _counts() -> dict[str, int]:
    return {"inserted": 0, "updated": 0, "unchanged": 0}


def apply(
    session: Session,
    prepared: Prepared,
    progress: Progress | None = None,
    operator: Viewer = MACHINE_OPERATOR,
) -> dict[str, dict[str, int]]:
    """Write ``prepared`` (its report must be ok); returns counts per table."""
    if not prepared.report.ok:
        raise Conflict("the dry run found errors; nothing was written")
    total = len(prepared.records)
    tick = progress or (lambda done, total: None)
    try:
        with session.begin_nested():
            if prepared.layer == "grids":
                changes = _grids(session, prepared, operator, total, tick)
            elif prepared.layer in AREA_LEVEL:
                changes = _areas(session, prepared, total, tick)
            else:
                changes = LOADERS[prepared.layer](session, prepared.records, total, tick)
            if prepared.layer not in ("incidents", "service_facilities"):  # no stored counts
                refresh_area_stats(session)  # per-area counts commit with the imported rows
    except DBAPIError as exc:
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
        detail = getattr(diag, "message_detail", None)
        raise LoadRefused(
            "the database refused the import, nothing was written: "
            + message
            + (f" ({detail})" if detail else "")
        ) from None
    prepared.report.changes = changes
    prepared.report.applied = True
    return changes


def _grids(
    session: Session, prepared: Prepared, operator: Viewer, total: int, tick: Progress
) -> dict[str, dict[str, int]]:
    """Grids go through the boundary editor's writer: changesets, lineage, re-pointing."""
    written = boundary_imports.apply(
        session, operator, prepared.records, f"gridgov import grids {prepared.report.file}"
    )
    prepared.report.notes.extend(
        f"changeset {c['changeset_id']}: new versions of {', '.join(sorted(c['created']))}"
        for c in written["changesets"]
    )
    tick(total, total)
    return {"area": written["area"]}


def _areas(
    session: Session, prepared: Prepared, total: int, tick: Progress
) -> dict[str, dict[str, int]]:
    """Streets and communities (the boundary editor edits grids only): versioned in place."""
    level = AREA_LEVEL[prepared.layer]
    counts = _counts()
    for done, rec in enumerate(prepared.records, 1):
        params = {**{k: rec[k] for k in ("code", "name", "kind", "parent", "wkb")}, "level": level}
        current = session.execute(
            text(
                "SELECT id, name, kind, ST_Equals(geom, ST_Multi(ST_GeomFromWKB(decode(:wkb,"
                " 'hex'), 4326))) OR ST_HausdorffDistance(geom, ST_GeomFromWKB(decode(:wkb,"
                " 'hex'), 4326)) < 1e-8 AS same_geom FROM area WHERE code = :code AND "
                "valid_to IS NULL FOR UPDATE"
            ),
            params,
        ).first()
        if (
            current is not None
            and current.name == rec["name"]
            and current.kind == rec["kind"]
            and current.same_geom
        ):
            counts["unchanged"] += 1
        else:
            if current is not None:
                session.execute(
                    text("UPDATE area SET valid_to = clock_timestamp() WHERE id = :id"),
                    {"id": current.id},
                )
            new_id = session.execute(
                text(
                    """
                    INSERT INTO area (level, code, name, kind, parent_id, district_code, geom,
                                      version, valid_from, updated_at)
                    SELECT :level, :code, :name, :kind,
                           (SELECT id FROM area WHERE code = :parent AND valid_to IS NULL),
                           left(:code, 6),
                           ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)),
                           coalesce((SELECT max(version) FROM area WHERE code = :code), 0) + 1,
                           clock_timestamp(), clock_timestamp()
                    RETURNING id
                    """
                ),
                params,
            ).scalar_one()
            if current is not None:
                _repoint_area(session, current.id, new_id)
                counts["updated"] += 1
            else:
                counts["inserted"] += 1
        if done % 50 == 0 or done == total:
            tick(done, total)
    return {"area": counts}


def _repoint_area(session: Session, old: int, new: int) -> None:
    for statement in (
        "UPDATE area SET parent_id = :new WHERE parent_id = :old AND valid_to IS NULL",
        "UPDATE building SET grid_id = :new WHERE grid_id = :old AND valid_to IS NULL",
        "UPDATE service_facility SET area_id = :new WHERE area_id = :old",
        "UPDATE party_org SET area_id = :new WHERE area_id = :old",
        "UPDATE party_member SET registered_community_id = :new "
        "WHERE registered_community_id = :old",
    ):
        session.execute(text(statement), {"old": old, "new": new})


def _buildings(
    session: Session, records: list[dict[str, Any]], total: int, tick: Progress
) -> dict[str, dict[str, int]]:
    counts = _counts()
    for done, rec in enumerate(records, 1):
        row = session.execute(
            text(
                """
                WITH new AS (
                    SELECT ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)) AS geom,
                           (SELECT id FROM area WHERE code = :grid_code AND valid_to IS NULL)
                             AS grid_id),
                old AS (SELECT b.* FROM building b WHERE code = :code AND valid_to IS NULL),
                upd AS (
                    UPDATE building b SET name = :name, address = :address, use = :use,
                           floors = :floors, units = :units, grid_id = new.grid_id,
                           geom = new.geom
                    FROM new, old
                    WHERE b.id = old.id AND NOT (
                        old.name = :name AND old.address = :address AND old.use = :use
                        AND old.floors = :floors AND old.units = :units
                        AND old.grid_id = new.grid_id
                        AND (ST_Equals(old.geom, new.geom)
                             OR ST_HausdorffDistance(old.geom, new.geom) < 1e-8))
                    RETURNING b.id),
                ins AS (
                    INSERT INTO building (code, name, address, use, floors, units, grid_id,
                                          district_code, geom)
                    SELECT :code, :name, :address, :use, :floors, :units, new.grid_id,
                           left(:code, 6), new.geom
                    FROM new WHERE NOT EXISTS (SELECT 1 FROM old)
                    RETURNING id)
                SELECT (SELECT count(*) FROM ins) AS ins, (SELECT count(*) FROM upd) AS upd
                """
            ),
            rec,
        ).one()
        counts["inserted" if row.ins else "updated" if row.upd else "unchanged"] += 1
        if done % 50 == 0 or done == total:
            tick(done, total)
    return {"building": counts}


def _households(
    session: Session, records: list[dict[str, Any]], total: int, tick: Progress
) -> dict[str, dict[str, int]]:
    """Households and their residents, set-wise: a handful of statements per batch.

    A row-by-row load issues two or three statements per resident (a 4,000-household sheet
    took tens of seconds); here each batch of households is matched, inserted and updated with
    arrays bound as parameters, and residents are matched in Python against the residents of
    the matched households and those holding the sheet's ID numbers.
    """
    counts = {"household": _counts(), "resident": _counts()}
    next_seq = _household_code_seeds(session, records)
    for start in range(0, total, BATCH):
        batch = records[start : start + BATCH]
        household_ids, changed = _write_households(session, batch, next_seq, counts["household"])
        resident_changes = _write_residents(session, batch, household_ids)
        for index, hh_change in enumerate(changed):
            if hh_change == "unchanged" and any(c != "unchanged" for c in resident_changes[index]):
                hh_change = "updated"
            counts["household"][hh_change] += 1
            for change in resident_changes[index]:
                counts["resident"][change] += 1
        tick(min(start + BATCH, total), total)
    return counts


def _household_code_seeds(session: Session, records: list[dict[str, Any]]) -> dict[str, int]:
    """Per district, the highest household number in the database *or in the file*.

    New households without a code are numbered after it, so a generated code never collides
    with a code that a later row of the same file brings.
    """
    districts = sorted({hh["district_code"] for hh in records})
    seeds: dict[str, int] = {
        district: int(highest)
        for district, highest in session.execute(
            text(
                """
                SELECT d.code, coalesce(max(substr(h.code, 8)::bigint), 0)
                FROM unnest(CAST(:districts AS text[])) AS d(code)
                LEFT JOIN household h ON h.code ~ ('^' || d.code || 'H[0-9]{9}$')
                GROUP BY d.code
                """
            ),
            {"districts": districts},
        )
    }
    for hh in records:
        code = hh["code"]
        if code and code[:6] in seeds:
            seeds[code[:6]] = max(seeds[code[:6]], int(code[7:]))
    return seeds


def _write_households(
    session: Session,
    batch: list[dict[str, Any]],
    next_seq: dict[str, int],
    counts: dict[str, int],
) -> tuple[list[int], list[str]]:
    """Insert or update one batch; the household id and its change, in batch order."""
    matches = session.execute(
        text(
            """
            SELECT r.ord, coalesce(by_room.id, by_code.id) AS id,
                   coalesce(by_room.code, by_code.code) AS code,
                   coalesce(by_room.floor, by_code.floor) AS floor,
                   coalesce(by_room.address, by_code.address) AS address,
                   by_room.id IS NULL AND by_code.id IS NOT NULL AS moved
            FROM unnest(CAST(:bids AS bigint[]), CAST(:units AS int[]), CAST(:rooms AS text[]),
                        CAST(:codes AS text[])) WITH ORDINALITY AS r(bid, unit, room, code, ord)
            LEFT JOIN household by_room
                   ON (by_room.building_id, by_room.unit, by_room.room) = (r.bid, r.unit, r.room)
            LEFT JOIN household by_code ON by_code.code = r.code
            ORDER BY r.ord
            """
        ),
        {
            "bids": [hh["building_id"] for hh in batch],
            "units": [hh["unit"] for hh in batch],
            "rooms": [hh["room"] for hh in batch],
            "codes": [hh["code"] for hh in batch],
        },
    ).all()
    claimed = {m.id for m in matches if m.id is not None and not m.moved}
    ids: list[int | None] = []
    changed: list[str] = []
    updates: list[dict[str, Any]] = []
    inserts: list[tuple[int, dict[str, Any]]] = []
    for index, (hh, match) in enumerate(zip(batch, matches, strict=True)):
        # A household found only by its code moves here, unless another row keeps its room.
        current_id = (
            match.id
            if match.id is not None and (not match.moved or match.id not in claimed)
            else None
        )
        if current_id is None:
            code = hh["code"]
            if code is None:
                next_seq[hh["district_code"]] += 1
                code = f"{hh['district_code']}H{next_seq[hh['district_code']]:09d}"
            inserts.append((index, {**hh, "code": code}))
            ids.append(None)
            changed.append("inserted")
            continue
        claimed.add(current_id)
        ids.append(current_id)
        if (
            match.moved
            or (match.floor, match.address) != (hh["floor"], hh["address"])
            or (hh["code"] and hh["code"] != match.code)
        ):
            updates.append({**hh, "id": current_id})
            changed.append("updated")
        else:
            changed.append("unchanged")
    if updates:
        session.execute(
            text(
                """
                UPDATE household h
                SET floor = u.floor, address = u.address, building_id = u.bid, unit = u.unit,
                    room = u.room, code = coalesce(u.code, h.code)
                FROM unnest(CAST(:ids AS bigint[]), CAST(:floors AS int[]),
                            CAST(:addresses AS text[]), CAST(:bids AS bigint[]),
                            CAST(:units AS int[]), CAST(:rooms AS text[]),
                            CAST(:codes AS text[]))
                     AS u(id, floor, address, bid, unit, room, code)
                WHERE h.id = u.id
                """
            ),
            _columns(
                updates,
                ids="id",
                floors="floor",
                addresses="address",
                bids="building_id",
                units="unit",
                rooms="room",
                codes="code",
            ),
        )
    if inserts:
        new = [hh for _, hh in inserts]
        created = session.execute(
            text(
                """
                INSERT INTO household (code, building_id, unit, floor, room, address,
                                       district_code)
                SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:bids AS bigint[]),
                                     CAST(:units AS int[]), CAST(:floors AS int[]),
                                     CAST(:rooms AS text[]), CAST(:addresses AS text[]),
                                     CAST(:districts AS text[]))
                RETURNING code, id
                """
            ),
            _columns(
                new,
                codes="code",
                bids="building_id",
                units="unit",
                floors="floor",
                rooms="room",
                addresses="address",
                districts="district_code",
            ),
        )
        id_by_code = {str(code): int(new_id) for code, new_id in created}
        for index, hh in inserts:
            ids[index] = id_by_code[hh["code"]]
    return [int(i) for i in ids if i is not None], changed


_RESIDENT_FIELDS = ("name", "gender", "birth_year", "id_number", "phone", "relation")
_RESIDENT_ARRAYS = {
    "names": "name",
    "genders": "gender",
    "birth_years": "birth_year",
    "id_numbers": "id_number",
    "phones": "phone",
    "relations": "relation",
    "households": "household_id",
}


def _write_residents(
    session: Session, batch: list[dict[str, Any]], household_ids: list[int]
) -> list[list[str]]:
    """Insert or update the residents of one batch; their changes, per household."""
    id_numbers = [p["id_number"] for hh in batch for p in hh["residents"] if p["id_number"]]
    existing = (
        session.execute(
            text(
                """
                SELECT id, household_id, name, gender, birth_year, id_number, phone, relation
                FROM resident
                WHERE household_id = ANY(CAST(:households AS bigint[]))
                   OR id_number = ANY(CAST(:id_numbers AS text[]))
                ORDER BY id
                FOR UPDATE
                """
            ),
            {"households": household_ids, "id_numbers": id_numbers},
        )
        .mappings()
        .all()
    )
    by_id_number = {r["id_number"]: r for r in existing if r["id_number"]}
    by_household: dict[int, list[Any]] = {}
    for r in existing:
        by_household.setdefault(r["household_id"], []).append(r)
    claimed: set[int] = set()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[list[str]] = []
    for hh, household_id in zip(batch, household_ids, strict=True):
        per_household: list[str] = []
        for person in hh["residents"]:
            fields = {k: person[k] for k in _RESIDENT_FIELDS}
            match = by_id_number.get(person["id_number"]) if person["id_number"] else None
            if match is None:
                # Without a matching ID number, the same name in the same household is the
                # same person (unless both carry different ID numbers).
                match = next(
                    (
                        r
                        for r in by_household.get(household_id, [])
                        if r["id"] not in claimed
                        and r["name"] == person["name"]
                        and (r["id_number"] is None or person["id_number"] is None)
                    ),
                    None,
                )
            if match is None or match["id"] in claimed:
                inserts.append(
                    {**fields, "household_id": household_id, "district": hh["district_code"]}
                )
                per_household.append("inserted")
                continue
            claimed.add(match["id"])
            if match["household_id"] == household_id and all(
                match[k] == v for k, v in fields.items()
            ):
                per_household.append("unchanged")
            else:
                updates.append({**fields, "household_id": household_id, "id": match["id"]})
                per_household.append("updated")
        changes.append(per_household)
    if updates:
        session.execute(
            text(
                """
                UPDATE resident r
                SET household_id = u.household_id, name = u.name, gender = u.gender,
                    birth_year = u.birth_year, id_number = u.id_number, phone = u.phone,
                    relation = u.relation
                FROM unnest(CAST(:ids AS bigint[]), CAST(:households AS bigint[]),
                            CAST(:names AS text[]), CAST(:genders AS text[]),
                            CAST(:birth_years AS int[]), CAST(:id_numbers AS text[]),
                            CAST(:phones AS text[]), CAST(:relations AS text[]))
                     AS u(id, household_id, name, gender, birth_year, id_number, phone, relation)
                WHERE r.id = u.id
                """
            ),
            _columns(updates, ids="id", **_RESIDENT_ARRAYS),
        )
    if inserts:
        session.execute(
            text(
                """
                INSERT INTO resident (household_id, name, gender, birth_year, id_number, phone,
                                      relation, district_code)
                SELECT * FROM unnest(CAST(:households AS bigint[]), CAST(:names AS text[]),
                                     CAST(:genders AS text[]), CAST(:birth_years AS int[]),
                                     CAST(:id_numbers AS text[]), CAST(:phones AS text[]),
                                     CAST(:relations AS text[]), CAST(:districts AS text[]))
                """
            ),
            _columns(inserts, districts="district", **_RESIDENT_ARRAYS),
        )
    return changes


def _columns(rows: list[dict[str, Any]], **arrays: str) -> dict[str, list[Any]]:
    """Rows → one list per parameter (``param=key``), for ``unnest`` of bound arrays."""
    return {param: [row[key] for row in rows] for param, key in arrays.items()}


def _generic(
    table: str, key_sql: str, insert_sql: str, update_sql: str, compare_sql: str
) -> Callable[[Session, list[dict[str, Any]], int, Progress], dict[str, dict[str, int]]]:
    def load(
        session: Session, records: list[dict[str, Any]], total: int, tick: Progress
    ) -> dict[str, dict[str, int]]:
        counts = _counts()
        for done, rec in enumerate(records, 1):
            current = session.execute(text(key_sql), rec).first()
            if current is None:
                session.execute(text(insert_sql), rec)
                counts["inserted"] += 1
            elif session.execute(text(compare_sql), {**rec, "id": current.id}).scalar_one():
                counts["unchanged"] += 1
            else:
                session.execute(text(update_sql), {**rec, "id": current.id})
                counts["updated"] += 1
            if done % 50 == 0 or done == total:
                tick(done, total)
        return {table: counts}

    return load


_PARTY_ATTRS = """
    (SELECT id FROM party_org WHERE code = :parent),
    CASE WHEN :level IN ('street', 'community', 'grid')
         THEN (SELECT id FROM area WHERE code = :target AND valid_to IS NULL) END,
    CASE WHEN :level = 'building'
         THEN (SELECT id FROM building WHERE code = :target AND valid_to IS NULL) END,
    CASE WHEN :level = 'household' THEN (SELECT id FROM household WHERE code = :target) END,
    CAST(:founded_on AS date),
    coalesce(
      (SELECT left(code, 6) FROM area WHERE code = :target AND valid_to IS NULL),
      (SELECT district_code FROM building WHERE code = :target AND valid_to IS NULL),
      (SELECT district_code FROM household WHERE code = :target))
"""
_PARTY_GEOM = """
    coalesce(ST_GeomFromWKB(decode(CAST(:wkb AS text), 'hex'), 4326),
      (SELECT ST_PointOnSurface(geom) FROM area WHERE code = :target AND valid_to IS NULL),
      (SELECT anchor FROM building WHERE code = :target AND valid_to IS NULL),
      (SELECT b.anchor FROM household h JOIN building b ON b.id = h.building_id
       WHERE h.code = :target))
"""
_PARTY_VALUES = _PARTY_ATTRS + "," + _PARTY_GEOM
_party_orgs = _generic(
    "party_org",
    "SELECT id FROM party_org WHERE code = :code FOR UPDATE",
    "INSERT INTO party_org (code, name, level, org_type, parent_id, area_id, building_id, "
    "household_id, founded_on, district_code, geom) SELECT :code, :name, :level, :org_type, "
    + _PARTY_VALUES,
    "UPDATE party_org SET (name, level, org_type, parent_id, area_id, building_id, household_id,"
    " founded_on, district_code, geom) = (SELECT :name, :level, :org_type, "
    + _PARTY_VALUES
    + ") WHERE id = :id",
    "SELECT (name, level, org_type, parent_id, area_id, building_id, household_id, founded_on,"
    " district_code) IS NOT DISTINCT FROM (:name, :level, :org_type, "
    + _PARTY_ATTRS
    + ") AND ST_DWithin(geom, "
    + _PARTY_GEOM
    + ", 1e-8) FROM party_org WHERE id = :id",
)
_FACILITY_VALUES = """
    :name, :kind, (SELECT id FROM area WHERE code = :area_code AND valid_to IS NULL),
    :address, :opening_hours, :phone, left(:area_code, 6),
    ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)
"""
_facilities = _generic(
    "service_facility",
    "SELECT id FROM service_facility WHERE code = :code FOR UPDATE",
    "INSERT INTO service_facility (code, name, kind, area_id, address, opening_hours, phone, "
    "district_code, geom) SELECT :code, " + _FACILITY_VALUES,
    "UPDATE service_facility SET (name, kind, area_id, address, opening_hours, phone, "
    "district_code, geom) = (SELECT " + _FACILITY_VALUES + ") WHERE id = :id",
    "SELECT (name, kind, area_id, address, opening_hours, phone, district_code) IS NOT DISTINCT "
    "FROM (:name, :kind, (SELECT id FROM area WHERE code = :area_code AND valid_to IS "
    "NULL), :address, :opening_hours, :phone, CAST(left(:area_code, 6) AS char(6))) "
    "AND ST_DWithin(geom, "
    "ST_GeomFromWKB(decode(:wkb, 'hex'), 4326), 1e-8) FROM service_facility WHERE id = :id",
)
_INCIDENT_VALUES = """
    :kind, :category, :description, :source, :reporter_name, :reporter_phone, :status,
    ST_GeomFromWKB(decode(:wkb, 'hex'), 4326), :address,
    (SELECT id FROM area WHERE code = :street AND valid_to IS NULL),
    (SELECT id FROM area WHERE code = :community AND valid_to IS NULL),
    (SELECT id FROM area WHERE code = :grid AND valid_to IS NULL),
    :district, coalesce(CAST(:reported_at AS timestamptz), now()),
    CAST(:closed_at AS timestamptz)
"""
_INCIDENT_COLUMNS = (
    "kind, category, description, source, reporter_name, reporter_phone, status, geom, "
    "address, street_id, community_id, grid_id, district_code, reported_at, closed_at"
)
_incident_upsert = _generic(
    "incident",
    # The file's code is ours (a re-import of an export) or its source system's.
    "SELECT id FROM incident WHERE code = :code OR (attributes ? 'source_code' AND "
    "attributes ->> 'source_code' = :code) ORDER BY code = :code DESC LIMIT 1 FOR UPDATE",
    f"INSERT INTO incident (id, code, attributes, {_INCIDENT_COLUMNS}) SELECT :id, :case_code, "
    "CAST(:attributes AS jsonb), " + _INCIDENT_VALUES,
    f"UPDATE incident SET ({_INCIDENT_COLUMNS}, updated_at) = (SELECT {_INCIDENT_VALUES}, now())"
    " WHERE id = :id",
    "SELECT (kind, category, description, source, reporter_name, reporter_phone, status, "
    "address, district_code) IS NOT DISTINCT FROM (:kind, :category, :description, :source, "
    ":reporter_name, :reporter_phone, :status, :address, CAST(:district AS char(6))) "
    "AND ST_DWithin(geom, ST_GeomFromWKB(decode(:wkb, 'hex'), 4326), 1e-8) "
    "FROM incident WHERE id = :id",
)


def _incidents(
    session: Session, records: list[dict[str, Any]], total: int, tick: Progress
) -> dict[str, dict[str, int]]:
    """Imported cases get a code in the one format (gis.incidents.intake.case_code) like every
    other case; a code of another system is kept as ``attributes.source_code``, by which a
    re-import finds the case again. A code already in our format (an export of ours) is kept."""
    ids = session.execute(
        text(
            "SELECT nextval(pg_get_serial_sequence('incident', 'id')) FROM generate_series(1, :n)"
        ),
        {"n": len(records)},
    ).scalars()
    prepared = []
    for rec, new_id in zip(records, ids, strict=True):
        reported = _reported_at(rec.get("reported_at"))
        ours = CASE_CODE.fullmatch(rec["code"]) is not None
        prepared.append(
            {
                **rec,
                "id": new_id,
                "case_code": rec["code"] if ours else case_code(rec["district"], reported, new_id),
                "attributes": json.dumps({} if ours else {"source_code": rec["code"]}),
            }
        )
    return _incident_upsert(session, prepared, total, tick)


def _reported_at(value: str | None) -> datetime:
    """When an imported case was reported; a time without a zone is China Standard Time."""
    if value is None:
        return datetime.now(UTC)
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=CST)


LOADERS: dict[
    str, Callable[[Session, list[dict[str, Any]], int, Progress], dict[str, dict[str, int]]]
] = {
    "buildings": _buildings,
    "households": _households,
    "party_orgs": _party_orgs,
    "service_facilities": _facilities,
    "incidents": _incidents,
}
