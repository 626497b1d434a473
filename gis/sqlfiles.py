"""Long SQL lives in ``gis/sql/*.sql`` and is read from the package, never built by string joins."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib.resources import files

from sqlalchemy import TextClause, text


@cache
def read_sql(name: str) -> str:
    """Return the text of ``gis/sql/<name>``."""
    return files("gis").joinpath("sql", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1024)
def statement(sql: str) -> TextClause:
    """``text(sql)``, made once per distinct SQL text.

    A ``text()`` parses its bind parameters when made and SQLAlchemy derives its cache key from
    it: for a small items page that was a tenth of the request's Python time (bench/RESULTS.md).
    Statements built from a collection's SQL and a query's shape repeat; their values are
    always bound parameters, so the texts are few (bounded here all the same).
    """
    return text(sql)
