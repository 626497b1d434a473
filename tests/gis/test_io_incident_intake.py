"""Importing cases follows the intake's rules: one case-code format (another system's code kept
as ``attributes.source_code`` and found again on re-import) and the jurisdiction's bounds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.incidents.intake import CASE_CODE, JURISDICTION_TOLERANCE_M
from gis.io import importer
from gis.scope import Viewer

OPERATOR = Viewer("cli:test", "cli", None)


def _edge(session: Session, metres: float) -> tuple[float, float]:
    """A point ``metres`` due south of the district's southernmost vertex."""
    lon, lat = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_DumpPoints(geom)).geom AS p FROM area"
            " WHERE level = 'district' AND valid_to IS NULL) x ORDER BY ST_Y(p) LIMIT 1"
        )
    ).one()
    return lon, lat - metres / 111_320


def _csv(path: Path, rows: list[tuple[str, float, float]]) -> Path:
    lines = ["案卷编号,类别,描述,经度,纬度,上报时间"]
    lines += [f"{code},市容环境,导入的案件{code},{x},{y},2026-11-20 09:15" for code, x, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_imported_cases_get_our_code_and_keep_theirs(io_session: Session, tmp_path: Path) -> None:
    x, y = io_session.execute(
        text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area"
            " WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    near = _edge(io_session, JURISDICTION_TOLERANCE_M / 2)  # outside every grid, in the city
    path = _csv(tmp_path / "cases.csv", [("WX-0001", x, y), ("WX-0002", *near)])
    prepared = importer.prepare(io_session, "incidents", path)
    assert prepared.report.ok, [i.message for i in prepared.report.errors]
    importer.run(io_session, prepared, OPERATOR)
    rows = io_session.execute(
        text(
            "SELECT id, code, attributes ->> 'source_code' AS theirs, grid_id, street_id"
            " FROM incident WHERE attributes ->> 'source_code' LIKE 'WX-%' ORDER BY 3"
        )
    ).all()
    assert [r.theirs for r in rows] == ["WX-0001", "WX-0002"]
    for r in rows:
        assert CASE_CODE.fullmatch(r.code), r.code
        assert r.code == f"620881-20261120-{r.id:07d}"
    # The one inside the city but outside every grid waits in the unassigned tray.
    assert rows[0].grid_id is not None and rows[1].grid_id is None
    # A re-import finds them by their own code: nothing new.
    again = importer.prepare(io_session, "incidents", path)
    importer.run(io_session, again, OPERATOR)
    assert again.report.changes["incident"]["inserted"] == 0
    assert (
        io_session.execute(
            text("SELECT count(*) FROM incident WHERE attributes ->> 'source_code' LIKE 'WX-%'")
        ).scalar_one()
        == 2
    )


def test_an_import_outside_the_jurisdiction_is_refused(io_session: Session, tmp_path: Path) -> None:
    far = _edge(io_session, JURISDICTION_TOLERANCE_M * 3)
    path = _csv(tmp_path / "far.csv", [("WX-0100", *far), ("WX-0101", -1.0, -1.0)])
    report = importer.prepare(io_session, "incidents", path).report
    assert not report.ok
    messages = [(i.row, i.message) for i in report.errors]
    assert [row for row, _ in messages] == [1, 2], messages
    assert all("outside the city's districts" in m for _, m in messages)
