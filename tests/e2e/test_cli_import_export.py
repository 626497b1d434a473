"""The real ``gridgov`` command: export, import dry run, a refused file, and --apply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest

from tests.e2e.cli_helpers import demo_cli_database, gridgov


@pytest.fixture(scope="module")
def cli_db(server_url: str) -> Iterator[str]:
    with demo_cli_database(server_url, "iocli") as url:
        yield url


@pytest.fixture(scope="module")
def city_db(server_url: str) -> Iterator[str]:
    """A city with several grids per community and their 网格党支部 (400 households have one
    grid and no branch)."""
    with demo_cli_database(server_url, "iocity", households=2500) as url:
        yield url


def grid_rows(url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(url) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT code, name, version FROM area WHERE level = 'grid' ORDER BY code, version"
            )
        ]


def test_export_dry_run_refusal_and_apply(cli_db: str, tmp_path: Path) -> None:
    out = tmp_path / "grids.gpkg"
    done = gridgov(cli_db, "export", "grids", "--format", "gpkg", "--crs", "4524", "-o", str(out))
    assert done.returncode == 0, done.stderr
    frame = gpd.read_file(out)
    before = grid_rows(cli_db)
    assert len(frame) == len(before) and frame.crs.to_epsg() == 4524

    frame.loc[0, "name"] = "命令行改名"
    frame.to_file(out, driver="GPKG")
    dry = gridgov(cli_db, "import", "grids", str(out))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run passed" in dry.stdout and grid_rows(cli_db) == before

    broken = tmp_path / "broken.csv"
    # A bow-tie inside the grid (so the area-of-use check passes and validity is what fails):
    # valid WKT, quoted as every CSV writer quotes a field holding commas, of an invalid polygon.
    centre = frame.to_crs(4326).geometry.iloc[0].representative_point()
    x0, y0, x1, y1 = centre.x - 0.001, centre.y - 0.001, centre.x + 0.001, centre.y + 0.001
    bow_tie = f"POLYGON(({x0} {y0},{x1} {y1},{x1} {y0},{x0} {y1},{x0} {y0}))"
    broken.write_text(f'code,name,wkt\n{frame.loc[0, "code"]},x,"{bow_tie}"\n', encoding="utf-8")
    refused = gridgov(cli_db, "import", "grids", str(broken), "--apply")
    assert refused.returncode == 2
    assert "Self-intersection" in refused.stdout and "nothing was written" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert grid_rows(cli_db) == before

    applied = gridgov(cli_db, "import", "grids", str(out), "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = grid_rows(cli_db)
    code = frame.loc[0, "code"]
    assert [r for r in after if r[0] == code][-1] == (code, "命令行改名", 2)
    assert len(after) == len(before) + 1


def test_personal_export_needs_an_account(cli_db: str, tmp_path: Path) -> None:
    done = gridgov(cli_db, "export", "households", "-f", "csv", "-o", str(tmp_path / "h.csv"))
    assert done.returncode == 1 and "--as USER" in done.stderr
    assert not (tmp_path / "h.csv").exists()


def test_export_as_an_account_is_scoped_and_masked(cli_db: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import Session

    from gis import accounts
    from gis.settings import normalise_database_url

    with psycopg.connect(cli_db) as conn:
        grid, residents = conn.execute(
            "SELECT g.code, count(r.id) FROM area g JOIN building b ON b.grid_id = g.id "
            "JOIN household h ON h.building_id = b.id JOIN resident r ON r.household_id = h.id "
            "WHERE g.level = 'grid' AND g.valid_to IS NULL GROUP BY g.code ORDER BY g.code LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    engine = create_engine(normalise_database_url(cli_db), poolclass=pool.NullPool)
    with Session(engine) as session:
        if accounts.get_account(session, "cli_worker") is None:
            accounts.create_user(
                session, "cli_worker", "worker-orchid-lantern-7", "grid_worker", grid
            )
            session.commit()
    engine.dispose()
    out = tmp_path / "h.csv"
    done = gridgov(
        cli_db, "export", "households", "-f", "csv", "--as", "cli_worker", "-o", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "masked" in done.stdout
    frame = pd.read_csv(out, dtype=str)
    assert len(frame) == residents and set(frame["grid_code"]) == {grid}
    assert frame["id_number"].notna().any()
    assert frame["id_number"].dropna().str.fullmatch(r"\d{6}\*{8}[\dX]{4}").all()


def test_an_unmasked_export_is_private_audited_and_found_by_subject(
    cli_db: str, tmp_path: Path
) -> None:
    """``gridgov export households --as X --purpose`` writes a 0600 file and an audit row with
    the operator; ``gridgov audit --subject <ID number>`` then names that export."""
    import getpass

    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import Session

    from gis import accounts
    from gis.settings import normalise_database_url

    with psycopg.connect(cli_db) as conn:
        grid, id_number = conn.execute(
            "SELECT g.code, r.id_number FROM area g JOIN building b ON b.grid_id = g.id"
            " JOIN household h ON h.building_id = b.id JOIN resident r ON r.household_id = h.id"
            " WHERE g.level = 'grid' AND g.valid_to IS NULL AND r.id_number IS NOT NULL"
            " ORDER BY g.code, r.id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    engine = create_engine(normalise_database_url(cli_db), poolclass=pool.NullPool)
    with Session(engine) as session:
        if accounts.get_account(session, "cli_chief") is None:
            accounts.create_user(
                session, "cli_chief", "kestrel-ridge-lantern-42", "grid_chief", grid
            )
            session.commit()
    engine.dispose()
    out = tmp_path / "hh.xlsx"
    purpose = "年度人口核查"
    done = gridgov(
        cli_db, "export", "households", "-f", "xlsx", "--as", "cli_chief",
        "--purpose", purpose, "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert id_number in set(pd.read_excel(out, dtype=str)["id_number"])
    with psycopg.connect(cli_db) as conn:
        action, purpose_logged, area, detail = conn.execute(
            "SELECT action, purpose, area_code, detail FROM audit_log"
            " WHERE username = 'cli_chief' ORDER BY id DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    assert (action, purpose_logged, area) == ("export.unmasked", purpose, grid)
    assert (
        detail["operator"] == f"cli:{getpass.getuser()}"
        and detail["rows"] == detail["unmasked"] > 0
    )
    seen = gridgov(cli_db, "audit", "--subject", id_number)
    assert seen.returncode == 0, seen.stdout + seen.stderr
    line = next(row for row in seen.stdout.splitlines() if "export.unmasked" in row)
    assert "cli_chief" in line and purpose in line
    unknown = gridgov(cli_db, "audit", "--subject", "not-a-person")
    assert unknown.returncode == 1 and "subject" in unknown.stderr


def test_a_reimport_that_would_retire_a_grid_with_a_branch_is_refused_naming_it(
    city_db: str, tmp_path: Path
) -> None:
    """Two grids merged in a desktop GIS (one feature kept, the other deleted) and imported: the
    import would leave the deleted grid's 网格党支部 without a grid. It is refused, dry run and
    --apply alike, saying which grid and branch and what to do; nothing is written."""
    import shapely

    with psycopg.connect(city_db) as conn:
        keep, gone, name, branch, wkb = conn.execute(
            """
            SELECT a.code, b.code, a.name, o.code, ST_AsBinary(ST_Union(a.geom, b.geom))
            FROM area a JOIN area b ON b.parent_id = a.parent_id AND b.id <> a.id
                 AND b.valid_to IS NULL AND b.level = 'grid'
            JOIN party_org o ON o.level = 'grid' AND o.area_id = b.id
            WHERE a.level = 'grid' AND a.valid_to IS NULL
              AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0
            ORDER BY a.code, b.code LIMIT 1
            """
        ).fetchone()  # type: ignore[misc]
    merged = gpd.GeoDataFrame(
        {"code": [keep], "name": [name]}, geometry=[shapely.from_wkb(bytes(wkb))], crs=4326
    )
    path = tmp_path / "merged.gpkg"
    merged.to_file(path, driver="GPKG")
    before = grid_rows(city_db)
    report = tmp_path / "report.json"
    for args in ((), ("--apply",)):
        refused = gridgov(city_db, "import", "grids", str(path), "--report", str(report), *args)
        out = refused.stdout + refused.stderr
        assert refused.returncode == 2, out
        assert "Traceback" not in out and "nothing was written" in out
        assert gone in out  # the table printed names the grid (its cells wrap long messages)
        errors = [
            i["message"]
            for i in json.loads(report.read_text(encoding="utf-8"))["issues"]
            if i["severity"] == "error"
        ]
        said = next(m for m in errors if f"grid {gone} is not in the file" in m)
        assert "never retires a grid" in said and f"grid party branch {branch}" in said
        assert "/plan" in said
        assert grid_rows(city_db) == before
    with psycopg.connect(city_db) as conn:
        assert conn.execute(
            "SELECT a.code, a.valid_to IS NULL FROM party_org o JOIN area a ON a.id = o.area_id "
            "WHERE o.code = %s",
            (branch,),
        ).fetchone() == (gone, True)
