"""Long SQL lives in ``gis/sql/*.sql`` and is read from the package, never built by string joins."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """Return the text of ``gis/sql/<name>``."""
    return files("gis").joinpath("sql", name).read_text(encoding="utf-8")
