"""Stream a generated city into PostgreSQL with COPY.

Ids are explicit: each table's rows get ``offset + index + 1`` where ``offset`` is the larger
of the table's max(id) and its sequence position, so a load never collides with existing rows;
sequences are moved past the new rows at the end. Large tables are written as COPY text built
here (the generator never emits tabs, newlines or backslashes, and :func:`_text` escapes them
anyway); residents are spooled to a temporary file while households stream, because one
connection can run only one COPY at a time.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql

from data.city import City, OrgRec, PersonRec
from data.incidents import iter_incidents
from data.people import DISTRICT_CODE
from data.population import iter_households, iter_population
from gis.incidents.intake import case_code

Progress = Callable[[str, int, int], None]
NULL = "\\N"
TABLES = (
    "area",
    "person",
    "building",
    "household",
    "resident",
    "party_org",
    "party_member",
    "service_facility",
    "incident",
    "incident_transition",
)
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(v: object) -> str:
    if v is None:
        return "\\N"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, str):
        return v.translate(_ESC)
    if isinstance(v, datetime.datetime | datetime.date):
        return v.isoformat()
    return str(v)


def _line(row: Sequence[object]) -> str:
    return "\t".join(map(_text, row)) + "\n"


def _ewkb(geoms: Sequence[shapely.Geometry]) -> list[str]:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return [str(h) for h in shapely.to_wkb(arr, hex=True, include_srid=True)]


def _points_ewkb(points: Sequence[tuple[float, float]]) -> list[str]:
    if not points:
        return []
    pts: np.ndarray = shapely.points(np.asarray(points, dtype=float))  # type: ignore[assignment]
    return _ewkb(list(pts))


def _offsets(conn: psycopg.Connection[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    with conn.cursor() as cur:
        for t in TABLES:
            cur.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(t)))
            row = cur.fetchone()
            top = int(row[0]) if row else 0
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (t,))
            seq_row = cur.fetchone()
            if seq_row and seq_row[0]:
                cur.execute(
                    sql.SQL("SELECT last_value, is_called FROM {}").format(
                        sql.Identifier(*seq_row[0].split("."))
                    )
                )
                s = cur.fetchone()
                if s and s[1]:
                    top = max(top, int(s[0]))
            out[t] = top
    return out


class _Copy:
    """A COPY ... FROM STDIN in text format with buffered writes and progress reports."""

    def __init__(
        self,
        cur: psycopg.Cursor[Any],
        table: str,
        cols: Sequence[str],
        progress: Progress | None,
        total: int,
        stage: str | None = None,
    ):
        self.cur = cur
        self.stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols))
        )
        self.progress = progress
        self.total = total
        self.stage = stage or table
        self.n = 0
        self.buf: list[str] = []

    def __enter__(self) -> _Copy:
        self._cm = self.cur.copy(self.stmt)
        self.copy = self._cm.__enter__()
        return self

    def row(self, row: Sequence[object]) -> None:
        self.buf.append(_line(row))
        self.n += 1
        if len(self.buf) >= 5000:
            self.flush()

    def raw(self, line: str) -> None:
        """Append one pre-formatted COPY text line (the caller guarantees it needs no escaping)."""
        self.buf.append(line)
        self.n += 1
        if len(self.buf) >= 5000:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.copy.write("".join(self.buf))
            self.buf.clear()
            if self.progress:
                self.progress(self.stage, self.n, max(self.total, self.n))

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.flush()
        self._cm.__exit__(*exc)  # type: ignore[arg-type]
        if exc[0] is None and self.progress:
            self.progress(self.stage, self.n, max(self.total, self.n))


def _person_row(pid: int, p: PersonRec) -> tuple[object, ...]:
    return (pid, p.name, p.gender, p.phone, p.id_number, p.title, DISTRICT_CODE)


def _load_central_households(
    cur: psycopg.Cursor[Any],
    central: list[tuple[str, int, int, datetime.date, list[int]]],
    hid0: int,
    rid0: int,
) -> dict[str, int]:
    """党员中心户 and the households each serves; the host member found by his resident."""
    cur.execute(
        "CREATE TEMP TABLE central_load (code text, household_id bigint, resident_id bigint,"
        " named_on date, served bigint[]) ON COMMIT DROP"
    )
    with cur.copy(
        "COPY central_load (code, household_id, resident_id, named_on, served) FROM STDIN"
    ) as cp:
        for code, h, r, named_on, served in central:
            cp.write_row((code, hid0 + h, rid0 + r, named_on, [hid0 + x for x in served]))
    cur.execute(
        "INSERT INTO party_central_household (code, household_id, member_id, named_on,"
        " district_code) SELECT c.code, c.household_id, m.id, c.named_on, %s"
        " FROM central_load c JOIN party_member m ON m.resident_id = c.resident_id",
        (DISTRICT_CODE,),
    )
    n_central = cur.rowcount
    cur.execute(
        "INSERT INTO party_central_household_served (central_household_id, household_id, since)"
        " SELECT p.id, s.h, p.named_on FROM central_load c"
        " JOIN party_central_household p ON p.code = c.code, unnest(c.served) AS s(h)"
    )
    n_served = cur.rowcount
    cur.execute("DROP TABLE central_load")
    return {"party_central_household": n_central, "party_central_household_served": n_served}


def load_city(
    conn: psycopg.Connection[Any], city: City, progress: Progress | None = None
) -> dict[str, int]:
    """Write ``city`` with COPY; return row counts per table. Does not commit."""
    off = _offsets(conn)
    counts: dict[str, int] = {}
    aid = [off["area"] + i + 1 for i in range(len(city.areas))]
    pid0 = off["person"] + 1
    oid0 = off["party_org"] + 1
    bid0 = off["building"] + 1
    hid0 = off["household"] + 1
    rid0 = off["resident"] + 1
    cur = conn.cursor()

    area_cols = ("id", "level", "code", "name", "kind", "parent_id", "district_code", "geom")
    geoms = _ewkb([a.geom for a in city.areas])
    n_done = 0
    # One COPY per level so that parents exist when the area_check_parent trigger looks them up.
    for level in ("district", "street", "community", "grid"):
        idx = [i for i, a in enumerate(city.areas) if a.level == level]
        with _Copy(cur, "area", area_cols, None, len(city.areas)) as cp:
            for i in idx:
                a = city.areas[i]
                cp.row(
                    (
                        aid[i],
                        a.level,
                        a.code,
                        a.name,
                        a.kind,
                        None if a.parent is None else aid[a.parent],
                        a.code[:6],
                        geoms[i],
                    )
                )
        n_done += len(idx)
        if progress:
            progress("area", n_done, len(city.areas))
    counts["area"] = len(city.areas)

    with _Copy(
        cur,
        "person",
        ("id", "name", "gender", "phone", "id_number", "title", "district_code"),
        progress,
        len(city.persons),
    ) as cp:
        for i, p in enumerate(city.persons):
            cp.row(_person_row(pid0 + i, p))
    with _Copy(
        cur, "grid_staff", ("area_id", "person_id", "role"), progress, len(city.staff)
    ) as cp:
        for a_idx, p_idx, role in city.staff:
            cp.row((aid[a_idx], pid0 + p_idx, role))
    counts["grid_staff"] = len(city.staff)

    bgeoms = _ewkb([shapely.MultiPolygon([b.geom]) for b in city.buildings])
    with _Copy(
        cur,
        "building",
        (
            "id",
            "code",
            "name",
            "address",
            "use",
            "floors",
            "units",
            "grid_id",
            "district_code",
            "geom",
        ),
        progress,
        len(city.buildings),
    ) as cp:
        for i, b in enumerate(city.buildings):
            cp.row(
                (
                    bid0 + i,
                    b.code,
                    b.name,
                    b.address,
                    b.use,
                    b.floors,
                    b.units,
                    aid[b.grid],
                    DISTRICT_CODE,
                    bgeoms[i],
                )
            )
    counts["building"] = len(city.buildings)

    # Households first (cheap, own random stream), then residents stream straight into COPY
    # while they are generated, so Python and PostgreSQL work at the same time. Party members
    # are spooled (their orgs must be loaded first); the few extra persons and orgs are kept.
    with _Copy(
        cur,
        "household",
        ("id", "code", "building_id", "unit", "floor", "room", "address", "district_code"),
        progress,
        city.households,
    ) as cp:
        for rows in iter_households(city):
            for h, code, b_idx, unit, floor, room, addr in rows:
                # Hot path (one line per household): codes, digits and addresses built from
                # fixed name tables never contain tabs, newlines or backslashes.
                cp.raw(
                    f"{hid0 + h}\t{code}\t{bid0 + b_idx}\t{unit}\t{floor}\t{room}\t{addr}"
                    f"\t{DISTRICT_CODE}\n"
                )
    counts["household"] = cp.n
    extra_persons: list[tuple[int, PersonRec]] = []
    extra_orgs: list[tuple[int, OrgRec]] = []
    central: list[tuple[str, int, int, datetime.date, list[int]]] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as members_file:
        res_cols = (
            "id",
            "household_id",
            "name",
            "gender",
            "birth_year",
            "id_number",
            "phone",
            "relation",
            "district_code",
            "special_groups",
        )
        # Residents are ≈2.7 per household; the bar's total is an estimate until the end.
        with _Copy(cur, "resident", res_cols, progress, round(city.households * 2.71)) as cp:
            for pop in iter_population(city):
                for r, h, name, gender, year, idn, phone, rel in pop.residents:
                    # Hot path, as for households: generated names need no escaping; the group
                    # keys are plain identifiers, so the array literal needs no quoting either.
                    groups = "{" + ",".join(pop.groups.get(r, ())) + "}"
                    cp.raw(
                        f"{rid0 + r}\t{hid0 + h}\t{name}\t{gender}\t{year}\t{idn}"
                        f"\t{phone or NULL}\t{rel}\t{DISTRICT_CODE}\t{groups}\n"
                    )
                extra_persons += pop.persons
                extra_orgs += pop.orgs
                central += pop.central
                members_file.write(
                    "".join(
                        _line(
                            (
                                rid0 + r,
                                oid0 + o,
                                None if grp is None else oid0 + grp,
                                joined,
                                status,
                                ins,
                                unit_,
                                DISTRICT_CODE,
                                None if c is None else aid[c],
                                reg,
                            )
                        )
                        for r, o, grp, joined, status, ins, unit_, c, reg in pop.members
                    )
                )
        n_res = cp.n
        counts["resident"] = n_res
        with _Copy(
            cur,
            "person",
            ("id", "name", "gender", "phone", "id_number", "title", "district_code"),
            None,
            0,
        ) as cp:
            for i, p in extra_persons:
                cp.row(_person_row(pid0 + i, p))
        counts["person"] = len(city.persons) + len(extra_persons)

        all_orgs = list(enumerate(city.orgs)) + extra_orgs
        org_pts = _points_ewkb([o.point for _, o in all_orgs])
        with _Copy(
            cur,
            "party_org",
            (
                "id",
                "code",
                "name",
                "level",
                "org_type",
                "parent_id",
                "area_id",
                "building_id",
                "household_id",
                "secretary_id",
                "founded_on",
                "district_code",
                "geom",
            ),
            progress,
            len(all_orgs),
        ) as cp:
            for (i, o), g in zip(all_orgs, org_pts, strict=True):
                cp.row(
                    (
                        oid0 + i,
                        o.code,
                        o.name,
                        o.level,
                        o.org_type,
                        None if o.parent is None else oid0 + o.parent,
                        None if o.area is None else aid[o.area],
                        None if o.building is None else bid0 + o.building,
                        None if o.household is None else hid0 + o.household,
                        None if o.secretary is None else pid0 + o.secretary,
                        o.founded_on,
                        DISTRICT_CODE,
                        g,
                    )
                )
        counts["party_org"] = len(all_orgs)
        counts["party_member"] = _copy_file(
            cur,
            members_file,
            "party_member",
            (
                "resident_id",
                "org_id",
                "group_id",
                "joined_on",
                "status",
                "in_service",
                "work_unit",
                "district_code",
                "registered_community_id",
                "registered_on",
            ),
            progress,
            0,
        )
    counts |= _load_central_households(cur, central, hid0, rid0)

    fpts = _points_ewkb([f.point for f in city.facilities])
    with _Copy(
        cur,
        "service_facility",
        (
            "code",
            "name",
            "kind",
            "area_id",
            "address",
            "opening_hours",
            "phone",
            "district_code",
            "geom",
            "id",
        ),
        progress,
        len(city.facilities),
    ) as cp:
        for i, (f, g) in enumerate(zip(city.facilities, fpts, strict=True)):
            cp.row(
                (
                    f.code,
                    f.name,
                    f.kind,
                    aid[f.area],
                    f.address,
                    f.opening_hours,
                    f.phone,
                    DISTRICT_CODE,
                    g,
                    off["service_facility"] + i + 1,
                )
            )
    counts["service_facility"] = len(city.facilities)

    counts["incident"], counts["incident_transition"] = _load_incidents(
        cur, city, off, aid, pid0, progress
    )

    for t in TABLES:
        cur.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'),"
                " greatest((SELECT max(id) FROM {i}), 1))"
            ).format(t=sql.Literal(t), i=sql.Identifier(t))
        )
    return counts


def _copy_file(
    cur: psycopg.Cursor[Any],
    f: Any,
    table: str,
    cols: Sequence[str],
    progress: Progress | None,
    total: int,
) -> int:
    """COPY the spooled text in ``f`` into ``table``; return the number of rows."""
    f.flush()
    f.seek(0)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    n = 0
    with cur.copy(stmt) as copy:
        while True:
            lines = f.readlines(1 << 20)
            if not lines:
                break
            copy.write("".join(lines))
            n += len(lines)
            if progress:
                progress(table, n, max(total, n))
    if progress:
        progress(table, n, max(total, n))
    return n


def _load_incidents(
    cur: psycopg.Cursor[Any],
    city: City,
    off: dict[str, int],
    aid: list[int],
    pid0: int,
    progress: Progress | None,
) -> tuple[int, int]:
    iid0 = off["incident"] + 1
    n_inc = 0
    n_tr = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as tr_file:
        with _Copy(
            cur,
            "incident",
            (
                "id",
                "code",
                "kind",
                "category",
                "description",
                "source",
                "reporter_name",
                "reporter_phone",
                "status",
                "geom",
                "address",
                "street_id",
                "community_id",
                "grid_id",
                "district_code",
                "assignee_id",
                "rework_count",
                "rating",
                "reported_at",
                "due_at",
                "closed_at",
                "updated_at",
            ),
            progress,
            city.incidents,
        ) as cp:
            batch: list[Any] = []

            def emit(batch: Iterable[Any]) -> None:
                nonlocal n_inc, n_tr
                items = list(batch)
                pts = _points_ewkb([x.point for x in items])
                lines = []
                for x, g in zip(items, pts, strict=True):
                    iid = iid0 + n_inc
                    n_inc += 1
                    cp.row(
                        (
                            iid,
                            case_code(DISTRICT_CODE, x.reported_at, iid),
                            x.kind,
                            x.category,
                            x.description,
                            x.source,
                            x.reporter_name,
                            x.reporter_phone,
                            x.status,
                            g,
                            x.address,
                            None if x.street is None else aid[x.street],
                            None if x.community is None else aid[x.community],
                            None if x.grid is None else aid[x.grid],
                            DISTRICT_CODE,
                            None if x.assignee is None else pid0 + x.assignee,
                            x.rework_count,
                            x.rating,
                            x.reported_at,
                            x.due_at,
                            x.closed_at,
                            x.updated_at,
                        )
                    )
                    for at, actor, frm, to, note in x.transitions:
                        n_tr += 1
                        lines.append(
                            _line(
                                (off["incident_transition"] + n_tr, iid, at, actor, frm, to, note)
                            )
                        )
                tr_file.write("".join(lines))

            for inc in iter_incidents(city):
                batch.append(inc)
                if len(batch) >= 2000:
                    emit(batch)
                    batch = []
            emit(batch)
        _copy_file(
            cur,
            tr_file,
            "incident_transition",
            ("id", "incident_id", "at", "actor", "from_status", "to_status", "note"),
            progress,
            n_tr,
        )
    return n_inc, n_tr


def summary_json(counts: dict[str, int]) -> str:
    return json.dumps(counts, ensure_ascii=False, sort_keys=True)
