"""One import: read → map columns → validate (dry run) → optionally load, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.orm import Session

from gis import audit
from gis.io import load, mapping, readers, validate
from gis.io.validate import Prepared, Report
from gis.scope import Viewer

IMPORT_ACTION = "data.import"


def prepare(
    session: Session,
    layer: str,
    path: Path,
    *,
    crs: str | None = None,
    layer_name: str | None = None,
    encoding: str | None = None,
    explicit: Mapping[str, str] | None = None,
    parent: str | None = None,
) -> Prepared:
    """Read and validate; raises :class:`gis.errors.InvalidInput` for file-level problems."""
    mapping.fields_of(layer)
    table = readers.read_source(path, crs=crs, layer_name=layer_name, encoding=encoding)
    columns = mapping.resolve(layer, table.columns, explicit)
    return validate.prepare(session, layer, table, columns, parent=parent)


def run(
    session: Session,
    prepared: Prepared,
    operator: Viewer,
    progress: load.Progress | None = None,
) -> Report:
    """Load ``prepared`` (report must be ok) and audit it; the caller commits."""
    changes = load.apply(session, prepared, progress, operator)
    audit.record(
        session,
        operator,
        IMPORT_ACTION,
        f"{prepared.layer}:{prepared.report.file}",
        detail={"rows": prepared.report.rows_read, "changes": changes},
    )
    return prepared.report
