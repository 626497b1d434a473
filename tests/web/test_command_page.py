"""The /command shell: the vocabulary it hands its script comes from the modules that own it,
and the queue API answers with exactly the fields the page is told to read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.incidents.queue import QUEUE_FIELDS, SORTS, TRAYS
from gis.incidents.transitions import STEP_FIELDS
from gis.incidents.vocabulary import (
    CATEGORIES,
    CLOSED_STATUSES,
    LATE_STATUSES,
    OPEN_STATUSES,
    REJECT_RESOLUTIONS,
    SOURCES,
    STATUSES,
    VERIFIERS,
)
from gis.incidents.workflow import INCIDENT_WORKFLOW
from tests.api.incident_helpers import ClientFor, client_for, viewer
from web.command_page import CHART_JS
from web.i18n import CATALOGUE

__all__ = ["client_for"]

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def _config(html: str) -> dict[str, Any]:
    match = re.search(r"gridgov\.commandPage\((\{.*?\})\);", html, re.DOTALL)
    assert match, "the page hands no config to its script"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def test_vocabulary_comes_from_its_owners(page_client: TestClient) -> None:
    config = _config(page_client.get("/command").text)
    vocab = config["incidents"]  # the vocabulary every page receives
    assert vocab["statuses"] == list(STATUSES)
    assert vocab["open_statuses"] == list(OPEN_STATUSES)
    assert vocab["closed_statuses"] == list(CLOSED_STATUSES)
    assert vocab["late_statuses"] == list(LATE_STATUSES)
    assert vocab["categories"] == {k: list(v) for k, v in CATEGORIES.items()}
    assert vocab["sources"] == list(SOURCES)
    assert vocab["reject_resolutions"] == list(REJECT_RESOLUTIONS)
    assert "vocabulary" not in config  # no second copy of it in the page's own data
    assert [(s["from"], s["to"], s["action"]) for s in config["steps"]] == [
        (s.from_status, s.to_status, s.name) for s in INCIDENT_WORKFLOW.steps
    ]
    # Each step's form fields are what the transition takes (gis/incidents/transitions.py).
    assert {s["action"]: tuple(s["fields"]) for s in config["steps"]} == STEP_FIELDS
    assert {f for fields in STEP_FIELDS.values() for f in fields} <= {
        "note",
        "reason",
        "resolution",
        "duplicate_of",
        "target",
        "due_at",
        "photos",
        "rating",
    }
    assert config["queue"]["fields"] == list(QUEUE_FIELDS)
    assert config["queue"]["sorts"] == list(SORTS) and config["queue"]["trays"] == list(TRAYS)
    # Every label the page shows for that vocabulary is in the catalogue, Chinese first.
    keys = (
        [f"js.status.{s}" for s in STATUSES]
        + [f"js.source.{s}" for s in SOURCES]
        + [f"js.resolution.{r}" for r in REJECT_RESOLUTIONS]
        + [f"js.queue.sort.{s}" for s in SORTS]
        + [f"js.queue.tray.{t}" for t in ("all", "overdue", *TRAYS)]
        + [f"js.action.{s.name}" for s in INCIDENT_WORKFLOW.steps]
        + [f"js.verifier.{v}" for v in VERIFIERS]
    )
    missing = [k for k in keys if k not in CATALOGUE or not CATALOGUE[k].get("zh-CN")]
    assert missing == []


def test_areas_and_the_vendored_chart_library(page_client: TestClient, db_session: Session) -> None:
    from sqlalchemy import text

    html = page_client.get("/command").text
    areas = _config(html)["areas"]
    (streets,) = db_session.execute(
        text("SELECT count(*) FROM area WHERE level = 'street' AND valid_to IS NULL")
    ).one()
    assert sum(1 for a in areas if a["level"] == "street") == streets > 0
    assert [a["level"] for a in areas if a["level"] == "district"] == ["district"]
    # Chart.js is served by the app, from a file that is really there, with its licence.
    assert f'src="{CHART_JS}"' in html
    vendored = STATIC / CHART_JS.removeprefix("/static/")
    assert vendored.read_bytes().startswith(b"/*!\n * Chart.js v4.5.1")
    assert (vendored.parents[1] / "LICENSE.md").read_text().startswith("The MIT License")
    assert page_client.get(CHART_JS).status_code == 200


def test_queue_rows_carry_exactly_the_fields_the_page_reads(
    page_client: TestClient, client_for: ClientFor
) -> None:
    fields = _config(page_client.get("/command").text)["queue"]["fields"]
    body = client_for(viewer("command_operator", "620881")).get(
        "/api/v1/incidents/queue", params={"limit": 5}
    )
    assert body.status_code == 200, body.text
    items = body.json()["items"]
    assert items, "the demo city has open cases"
    assert all(list(item) == fields for item in items)


def test_every_string_the_script_shows_is_in_the_catalogue() -> None:
    from web.i18n import js_strings

    source = (STATIC / "gridgov" / "command.js").read_text(encoding="utf-8")
    literal = set(re.findall(r'\bs\("([a-z_.0-9]+)"\)', source))
    # Case-panel rows are labelled "case.<field>".
    literal |= {f"case.{k}" for k in re.findall(r'\brow\("([a-z_]+)"', source)}
    assert len(literal) > 40
    for language in ("zh-CN", "en"):
        strings = js_strings(language)
        assert sorted(k for k in literal if k not in strings) == [], language
