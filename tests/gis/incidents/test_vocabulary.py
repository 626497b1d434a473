"""The incident vocabulary has one owner (gis/incidents/vocabulary.py): the database's copy (the
functions of migration 0012) equals it, and no SQL file or page script spells a list out again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.incidents import vocabulary as v
from gis.incidents.workflow import INCIDENT_WORKFLOW, VERIFIER_ROLES

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("incident_statuses", v.STATUSES),
        ("incident_open_statuses", v.OPEN_STATUSES),
        ("incident_closed_statuses", v.CLOSED_STATUSES),
        ("incident_late_statuses", v.LATE_STATUSES),
        ("incident_workload_statuses", v.WORKLOAD_STATUSES),
        ("incident_sources", v.SOURCES),
        ("incident_reject_resolutions", v.REJECT_RESOLUTIONS),
        ("incident_verifiers", v.VERIFIERS),
        ("incident_extension_decisions", v.EXTENSION_DECISIONS),
    ],
)
def test_the_database_sets_equal_the_owner(
    db_session: Session, function: str, expected: tuple[str, ...]
) -> None:
    stored = db_session.execute(text(f"SELECT {function}()")).scalar_one()
    assert tuple(stored) == expected


def test_the_database_knows_each_category_s_kind(db_session: Session) -> None:
    rows = db_session.execute(
        text("SELECT c, incident_kind_of(c) FROM unnest(CAST(:cats AS text[])) AS c"),
        {"cats": [*v.KIND_OF_CATEGORY, "不存在的类别"]},
    ).all()
    assert dict(rows) == {**v.KIND_OF_CATEGORY, "不存在的类别": None}
    # Every category has its time limits (the service-order rule is not an incident category).
    rules = db_session.execute(
        text("SELECT category, kind FROM incident_deadline_rule WHERE kind <> 'service'")
    ).all()
    assert dict(rules) == v.KIND_OF_CATEGORY


def test_the_sets_are_consistent() -> None:
    assert set(v.OPEN_STATUSES) | set(v.CLOSED_STATUSES) | {"rejected"} == set(v.STATUSES)
    assert set(v.LATE_STATUSES) < set(v.OPEN_STATUSES)
    assert set(v.WORKLOAD_STATUSES) < set(v.LATE_STATUSES)
    assert set(v.ENTERED_SOURCES) < set(v.SOURCES)
    assert set(v.STATUS_LABELS_ZH) == set(v.STATUSES)
    # The workflow's states are the vocabulary's statuses, and the terminal ones have no step.
    assert set(INCIDENT_WORKFLOW.states) == set(v.STATUSES)
    assert {s for s in v.STATUSES if INCIDENT_WORKFLOW.is_terminal(s)} == set(v.TERMINAL_STATUSES)
    # Each verifier of the vocabulary has its roles in the workflow.
    assert set(VERIFIER_ROLES) == set(v.VERIFIERS)


@pytest.mark.parametrize(
    ("column", "value"),
    [("status", "lost"), ("source", "telegram"), ("category", "不存在的类别")],
)
def test_the_constraints_refuse_what_the_vocabulary_lacks(
    db_session: Session, column: str, value: str
) -> None:
    incident_id = db_session.execute(
        text("SELECT id FROM incident WHERE status = 'reported' ORDER BY id LIMIT 1")
    ).scalar_one()
    with pytest.raises(IntegrityError, match="incident_"), db_session.begin_nested():
        db_session.execute(
            text(f"UPDATE incident SET {column} = :v WHERE id = :id"),  # column from the list above
            {"v": value, "id": incident_id},
        )


# A quoted status of the vocabulary: any SQL file or page script holding one restates a list.
_STATUS_LITERAL = re.compile(r"""['"](in_progress|dispatched|registered)['"]""")


def test_no_sql_file_or_page_script_restates_the_status_lists() -> None:
    # Migrations up to 0011 are history (0012 replaced what they built); 0012 and every later
    # migration that replaces the vocabulary functions (0021_case_workflow) are the copy.
    sql = [
        p
        for p in (ROOT / "gis" / "sql").glob("*.sql")
        if not re.match(r"^\d{4}_", p.name)
        or (p.name >= "0013" and "FUNCTION incident_statuses()" not in p.read_text("utf-8"))
    ]
    scripts = list((ROOT / "web" / "static" / "gridgov").glob("*.js"))
    offenders = [str(p) for p in sql + scripts if _STATUS_LITERAL.search(p.read_text("utf-8"))]
    assert sql and scripts
    assert offenders == []


def test_pages_receive_the_vocabulary_in_their_page_data(db_session: Session) -> None:
    import json

    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.db import get_session

    app = create_app()
    app.dependency_overrides[get_session] = lambda: db_session
    with TestClient(app) as client:
        html = client.get("/").text
    embedded = json.dumps(v.for_pages(), ensure_ascii=False).replace("<", "\\u003c")
    assert f'"incidents": {embedded}' in html
