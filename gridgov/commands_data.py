"""``gridgov import`` and ``gridgov export``: bring a city's own data in and take it out.

Registered by ``gridgov/cli.py`` (``register(app)``). See docs/data-io.md.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis.errors import GridgovError
from gis.scope import ANONYMOUS, Viewer

console = Console()
err = Console(stderr=True)
MAX_ISSUES_SHOWN = 200


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _operator() -> Viewer:
    return Viewer(username=f"cli:{getpass.getuser()}", role="cli", scope_code=None)


def _print_report(report: object) -> None:
    from gis.io.validate import Report

    assert isinstance(report, Report)
    summary = Table(title=f"{report.layer} ← {report.file}", show_header=False)
    summary.add_row("rows read", str(report.rows_read))
    summary.add_row("records", str(report.records))
    summary.add_row("source CRS", str(report.source_crs or "-"))
    summary.add_row("errors", f"[red]{len(report.errors)}[/]" if report.errors else "0")
    summary.add_row("warnings", str(len(report.warnings)))
    for note in report.notes:
        summary.add_row("note", note)
    console.print(summary)
    if report.issues:
        table = Table(title="problems (row = data row in the file, 1 = first)")
        for column in ("row", "level", "field", "problem"):
            table.add_column(column, overflow="fold")
        shown = sorted(report.issues, key=lambda i: (i.severity != "error", i.row))
        for issue in shown[:MAX_ISSUES_SHOWN]:
            problem = issue.message
            if issue.candidates:
                problem += "\n  candidates: " + "\n  ".join(issue.candidates)
            table.add_row(str(issue.row), issue.severity, issue.field or "", problem)
        console.print(table)
        if len(shown) > MAX_ISSUES_SHOWN:
            console.print(f"… and {len(shown) - MAX_ISSUES_SHOWN} more (use --report FILE)")
    if report.changes:
        changes = Table(title="written")
        for column in ("table", "inserted", "updated", "unchanged"):
            changes.add_column(column)
        for table_name, counts in report.changes.items():
            changes.add_row(
                table_name, *(str(counts[k]) for k in ("inserted", "updated", "unchanged"))
            )
        console.print(changes)


def import_command(
    layer: Annotated[
        str,
        typer.Argument(
            help="districts, streets, communities, grids, "
            "buildings, households, party_orgs, "
            "service_facilities or incidents"
        ),
    ],
    file: Annotated[
        Path, typer.Argument(help=".gpkg, .shp, .zip (shapefile), .geojson, .csv or .xlsx")
    ],
    crs: Annotated[
        str | None,
        typer.Option(
            help="CRS of the coordinates: an EPSG code (4326, "
            "4490, 3857, 4526…), gcj02 or bd09; overrides "
            "the file's"
        ),
    ] = None,
    layer_name: Annotated[
        str | None,
        typer.Option("--layer-name", help="Layer of a GeoPackage or sheet of a workbook"),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help="YAML/JSON/TOML file mapping columns to fields")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="COLUMN=FIELD (repeatable); FIELD '-' ignores the column"),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of a CSV or a shapefile without .cpg, e.g. GBK"),
    ] = None,
    parent: Annotated[
        str | None, typer.Option(help="Only accept features inside this area code")
    ] = None,
    apply_: Annotated[bool, typer.Option("--apply", help="Load (default: dry run only)")] = False,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Also write the report as JSON here")
    ] = None,
) -> None:
    """Check a file (dry run) and with --apply load it atomically; re-imports update by code."""
    from gis.db import DatabaseNotConfigured, owner_session_scope
    from gis.io import importer, mapping

    try:
        explicit = mapping.load_mapping_file(mapping_file) if mapping_file else {}
        explicit.update(mapping.parse_map_options(map_ or []))
        size = f" ({file.stat().st_size / 1024 / 1024:,.1f} MB)" if file.is_file() else ""
        with owner_session_scope() as session:  # a bulk load: as the owner (docs/operations.md)
            with console.status(f"reading and checking {file.name}{size}…"):
                prepared = importer.prepare(
                    session,
                    layer,
                    file,
                    crs=crs,
                    layer_name=layer_name,
                    encoding=encoding,
                    explicit=explicit,
                    parent=parent,
                )
            report = prepared.report
            if apply_ and report.ok:
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                ) as progress:
                    task = progress.add_task(f"loading {layer}", total=len(prepared.records))
                    importer.run(
                        session,
                        prepared,
                        _operator(),
                        lambda done, total: progress.update(task, completed=done),
                    )
            else:
                session.rollback()
    except GridgovError as exc:
        detail = exc.detail.rstrip(". ")
        if "nothing was written" not in detail.lower():
            detail += ". Nothing was written"
        raise _fail(detail + ".") from None
    except DatabaseNotConfigured as exc:
        raise _fail(str(exc)) from None
    _print_report(report)
    if report_file:
        report_file.write_text(
            json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )
    if not report.ok:
        err.print(
            f"[bold red]{len(report.errors)} error(s): nothing was written.[/] Fix the "
            "rows above (or map the columns) and run again."
        )
        raise typer.Exit(code=2)
    if apply_:
        console.print("[green]loaded[/] in one transaction")
    else:
        console.print("dry run passed: nothing written. Run again with --apply to load.")


def export_command(
    layer: Annotated[
        str,
        typer.Argument(
            help="districts, streets, communities, grids, "
            "buildings, party_orgs, service_facilities, "
            "households or incidents"
        ),
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", help="gpkg, shp, geojson, csv or xlsx")
    ] = "gpkg",
    within: Annotated[str | None, typer.Option(help="Only this area's subtree")] = None,
    crs: Annotated[
        str | None, typer.Option(help="Output CRS: EPSG code, gcj02 or bd09 (default EPSG:4326)")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Export as this account: its "
            "scope and masking apply (needed for "
            "households and incidents)",
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            help="Why personal data is exported unmasked (logged; without it names are masked)"
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write")] = None,
    precision: Annotated[
        float | None,
        typer.Option(help="Coordinate resolution in metres (default 0.01, about 1 cm)"),
    ] = None,
) -> None:
    """Write a layer to a file, scoped and masked like the API for the account used."""
    from gis import accounts
    from gis.db import DatabaseNotConfigured, session_scope
    from gis.io import export

    path = output or Path(export.default_filename(layer, format, within))
    try:
        with session_scope() as session:
            viewer = ANONYMOUS
            if as_user:
                account = accounts.get_account(session, as_user)
                if account is None or not account.is_active:
                    raise _fail(f"no active account {as_user!r}")
                # The audit log names both: the account whose scope applies, and who ran this.
                viewer = Viewer(
                    account.username,
                    account.role,
                    account.scope_code,
                    account.id,
                    operator=_operator().username,
                )
            result = export.export_layer(
                session,
                viewer.with_purpose(None, "gridgov export"),
                layer,
                path,
                fmt=format,
                within=within,
                crs=crs,
                purpose=purpose,
                precision=precision,
            )
    except GridgovError as exc:
        raise _fail(exc.detail) from None
    except DatabaseNotConfigured as exc:
        raise _fail(str(exc)) from None
    note = " (personal fields masked)" if result.masked else ""
    console.print(f"wrote {result.rows} {layer} to {result.path} in {result.crs}{note}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
