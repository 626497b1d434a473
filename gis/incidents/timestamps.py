"""How the incident package shows instants: ISO 8601, and period starts in China Standard Time."""

from __future__ import annotations

from datetime import datetime

from gis.incidents.workcalendar import CST


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def local_iso(value: datetime | None) -> str | None:
    """A period or bucket start in China Standard Time, where the day boundaries are drawn."""
    return None if value is None else value.astimezone(CST).isoformat()
