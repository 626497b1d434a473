"""CQL2 filters (OGC API – Features Part 3) → parameterised SQL over a collection's SQL source.

The text or JSON is parsed and validated by ``cql2`` (the Rust cql2 library's Python binding);
the CQL2-JSON tree it gives is translated here into a SQL predicate on ``f`` (the collection's
feature source, as :mod:`gis.queries.features` aliases it) in which every value is a bound
parameter and every property a queryable of the collection, quoted from the catalogue
(:mod:`gis.collections`) — never text from the request. Literals are checked against the
property's type first, so a wrong type is a 400 that names it, never a database error.

Supported: ``and``/``or``/``not``; ``= <> < <= > >=``; ``like``, ``between``, ``in``,
``isNull``; the spatial functions ``s_intersects``, ``s_within``, ``s_contains``,
``s_disjoint``, ``s_equals``, ``s_touches``, ``s_crosses``, ``s_overlaps`` on ``geometry`` with
GeoJSON/WKT or ``BBOX`` literals in CRS84; ``t_intersects``, ``t_before``, ``t_after`` on
date-time properties with ``TIMESTAMP``/``DATE``/``INTERVAL`` literals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import cql2

from gis.collections import Collection, Property
from gis.errors import InvalidInput

MAX_FILTER_CHARS = 8000
MAX_NODES = 500
LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"

_COMPARISON = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint",
    "s_equals": "ST_Equals",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
}
_TEMPORAL = ("t_intersects", "t_before", "t_after")
_NUMERIC = ("integer", "number")


def parse(text: str, language: str | None) -> dict[str, Any]:
    """The CQL2-JSON tree of a ``filter`` in ``filter-lang`` (default cql2-text)."""
    lang = (language or "cql2-text").lower()
    if lang not in LANGUAGES:
        raise InvalidInput(
            f"filter-lang must be one of {', '.join(LANGUAGES)}", parameter="filter-lang"
        )
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(
            f"filter is longer than {MAX_FILTER_CHARS} characters", parameter="filter"
        )
    try:
        expr = cql2.parse_text(text) if lang == "cql2-text" else cql2.parse_json(text)
        expr.validate()
        tree = expr.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise InvalidInput(f"filter is not valid {lang}: {detail}", parameter="filter") from None
    if not isinstance(tree, dict):
        raise InvalidInput("filter must be a boolean expression", parameter="filter")
    return tree


@dataclass
class _Translation:
    collection: Collection
    params: dict[str, Any] = field(default_factory=dict)
    nodes: int = 0

    def bind(self, value: Any) -> str:
        name = f"cql{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def to_sql(tree: dict[str, Any], collection: Collection) -> tuple[str, dict[str, Any]]:
    """A SQL predicate on ``f`` and its parameters for a parsed filter."""
    translation = _Translation(collection)
    return f"({_boolean(tree, translation)})", translation.params


def _fail(message: str) -> InvalidInput:
    return InvalidInput(message, parameter="filter")


def _boolean(node: Any, t: _Translation) -> str:
    t.nodes += 1
    if t.nodes > MAX_NODES:
        raise _fail(f"filter has more than {MAX_NODES} terms")
    if isinstance(node, bool):
        return "true" if node else "false"
    if not isinstance(node, dict) or "op" not in node:
        raise _fail(f"expected a condition, got {json.dumps(node)[:80]}")
    op = str(node["op"]).lower()
    args = list(node.get("args") or [])
    if op in ("and", "or"):
        return f" {op.upper()} ".join(f"({_boolean(a, t)})" for a in args)
    if op == "not":
        return f"NOT ({_boolean(args[0], t)})"
    if op in _COMPARISON:
        prop, value = _property_and_literal(args, t, op)
        return f"{_column(prop)} {_COMPARISON[op]} {_literal(prop, value, t)}"
    if op == "like":
        prop, value = _property_and_literal(args, t, op)
        if prop.type != "string" or not isinstance(value, str):
            raise _fail(f"LIKE needs a text property and a text pattern ({prop.name})")
        return f"{_column(prop)} LIKE {t.bind(value)}"
    if op == "between":
        prop = _property(args[0], t)
        low, high = (_literal(prop, v, t) for v in args[1:3])
        return f"{_column(prop)} BETWEEN {low} AND {high}"
    if op == "in":
        prop = _property(args[0], t)
        values = args[1] if len(args) > 1 and isinstance(args[1], list) else None
        if not values:
            raise _fail(f"IN needs a list of values ({prop.name})")
        return f"{_column(prop)} IN ({', '.join(_literal(prop, v, t) for v in values)})"
    if op == "isnull":
        return f"{_column(_property(args[0], t))} IS NULL"
    if op in _SPATIAL:
        return _spatial(op, args, t)
    if op in _TEMPORAL:
        return _temporal(op, args, t)
    raise _fail(
        f"the operator {op!r} is not supported; see /ogc/conformance for the CQL2 classes offered"
    )


def _property(node: Any, t: _Translation) -> Property:
    if isinstance(node, dict) and "op" in node:
        raise _fail(
            f"the function {str(node['op']).upper()[:20]} is not supported here; "
            "compare a property itself (see /ogc/conformance for the CQL2 classes offered)"
        )
    if not isinstance(node, dict) or "property" not in node:
        raise _fail(f"expected a property, got {json.dumps(node)[:80]}")
    name = str(node["property"])
    prop = t.collection.property(name)
    if prop is None or not prop.queryable or prop.personal is not None:
        offered = ", ".join(p.name for p in t.collection.queryables)
        raise _fail(
            f"{name[:60]!r} is not a queryable of {t.collection.id}; "
            f"see /ogc/collections/{t.collection.id}/queryables ({offered}, geometry)"
        )
    return prop


def _property_and_literal(args: list[Any], t: _Translation, op: str) -> tuple[Property, Any]:
    if len(args) != 2:
        raise _fail(f"{op} takes two arguments")
    first, second = args
    if (
        isinstance(second, dict)
        and "property" in second
        and not (isinstance(first, dict) and "property" in first)
    ):
        first, second = second, first  # literal op property: compare the same way round
        if op in ("<", "<=", ">", ">="):
            raise _fail("put the property first in an ordering comparison")
    return _property(first, t), second


def _column(prop: Property) -> str:
    return f'f."{prop.name}"'


def _literal(prop: Property, value: Any, t: _Translation) -> str:
    """A bound literal of the property's type (or a 400 saying what type is needed)."""
    if isinstance(value, dict) and "property" in value:
        raise _fail("comparing two properties is not supported")
    if prop.type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(f"{prop.name} is a number; got {json.dumps(value)[:60]}")
        if prop.type == "integer":
            if not float(value).is_integer():
                raise _fail(f"{prop.name} is a whole number; got {value}")
            return t.bind(int(value))
        return t.bind(float(value))
    if prop.type == "boolean":
        if not isinstance(value, bool):
            raise _fail(f"{prop.name} is true or false; got {json.dumps(value)[:60]}")
        return t.bind(value)
    if prop.type in ("date", "date-time"):
        return f"CAST({t.bind(_instant(value, prop))} AS timestamptz)"
    if not isinstance(value, str):
        raise _fail(f"{prop.name} is text; quote the value: '{value}'")
    return t.bind(value)


def _instant(value: Any, prop: Property) -> datetime:
    text = None
    if isinstance(value, dict):
        text = value.get("timestamp") or value.get("date")
    elif isinstance(value, str):
        text = value
    try:
        if text and len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise _fail(
            f"{prop.name} is a time: give TIMESTAMP('2026-09-01T08:00:00Z') or "
            f"DATE('2026-09-01'); got {json.dumps(value)[:60]}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _geometry(node: Any, t: _Translation) -> str:
    if isinstance(node, dict) and "bbox" in node:
        box = node["bbox"]
        if len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        if len(box) != 4:
            raise _fail("BBOX needs 4 (or 6) numbers")
        values = [t.bind(float(v)) for v in box]
        return f"ST_MakeEnvelope({', '.join(values)}, 4326)"
    if isinstance(node, dict) and "type" in node:
        return f"ST_SetSRID(ST_GeomFromGeoJSON({t.bind(json.dumps(node))}), 4326)"
    raise _fail(f"expected a geometry literal, got {json.dumps(node)[:80]}")


def _spatial(op: str, args: list[Any], t: _Translation) -> str:
    if len(args) != 2:
        raise _fail(f"{op.upper()} takes two arguments")
    first, second = args
    if first == {"property": GEOMETRY}:
        geometry, flipped = second, False
    elif second == {"property": GEOMETRY}:
        geometry, flipped = first, True
    else:
        raise _fail(f"{op.upper()} compares the property 'geometry' with a geometry literal")
    literal = _geometry(geometry, t)
    a, b = (literal, "f.geom") if flipped else ("f.geom", literal)
    index = f"f.geom && {literal} AND " if op not in ("s_disjoint",) else ""
    return f"{index}{_SPATIAL[op]}({a}, {b})"


def _temporal(op: str, args: list[Any], t: _Translation) -> str:
    if len(args) != 2:
        raise _fail(f"{op.upper()} takes two arguments")
    prop = _property(args[0], t)
    if prop.type not in ("date", "date-time"):
        raise _fail(f"{op.upper()} needs a time property; {prop.name} is {prop.type}")
    value = args[1]
    column = _column(prop)
    if isinstance(value, dict) and "interval" in value:
        start, end = value["interval"]
        low = None if start in ("..", None) else _instant(start, prop)
        high = None if end in ("..", None) else _instant(end, prop)
    else:
        low = high = _instant(value, prop)
    clauses = []
    if op == "t_intersects":
        if low is not None:
            clauses.append(f"{column} >= CAST({t.bind(low)} AS timestamptz)")
        if high is not None:
            clauses.append(f"{column} <= CAST({t.bind(high)} AS timestamptz)")
    elif op == "t_before":
        if low is None:
            raise _fail("T_BEFORE needs a bounded start")
        clauses.append(f"{column} < CAST({t.bind(low)} AS timestamptz)")
    else:
        if high is None:
            raise _fail("T_AFTER needs a bounded end")
        clauses.append(f"{column} > CAST({t.bind(high)} AS timestamptz)")
    return " AND ".join(clauses) or "true"


def queryables_schema(collection: Collection, url: str) -> dict[str, Any]:
    """The collection's queryables as JSON Schema (OGC API – Features Part 3, 2020-12)."""
    properties: dict[str, Any] = {
        GEOMETRY: {
            "format": "geometry-multipolygon"
            if collection.geometry_type == "MultiPolygon"
            else "geometry-point",
            "x-ogc-role": "primary-geometry",
        }
    }
    for prop in collection.queryables:
        if prop.personal is not None:
            continue
        if prop.type in ("date", "date-time"):
            properties[prop.name] = {"title": prop.title, "type": "string", "format": prop.type}
        else:
            properties[prop.name] = {"title": prop.title, "type": prop.type}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }
