"""The pure case-loop state machine."""

from __future__ import annotations

from itertools import pairwise

import pytest

from gis.errors import Forbidden
from gis.incidents.workflow import (
    INCIDENT_WORKFLOW,
    REPORTER,
    SERVICE_ORDER_WORKFLOW,
    IllegalTransition,
    count_reworks,
    next_escalation_level,
)
from gis.scope import ROLES

HAPPY_PATH = [
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "closed",
    "evaluated",
]
ROLE_OF = {
    "registered": "command_operator",
    "dispatched": "command_operator",
    "in_progress": "grid_worker",
    "handled": "grid_worker",
    "closed": "grid_chief",
    "evaluated": REPORTER,
}


def test_the_happy_path_is_allowed_step_by_step() -> None:
    for frm, to in pairwise(HAPPY_PATH):
        assert INCIDENT_WORKFLOW.check(frm, to, ROLE_OF[to]).to_status == to


def test_every_illegal_pair_lists_the_allowed_ones() -> None:
    states = INCIDENT_WORKFLOW.states
    assert set(states) == {
        "reported",
        "registered",
        "rejected",
        "dispatched",
        "in_progress",
        "handled",
        "closed",
        "evaluated",
    }
    for frm in states:
        allowed = {s.to_status for s in INCIDENT_WORKFLOW.steps if s.from_status == frm}
        for to in states:
            if to in allowed:
                continue
            with pytest.raises(IllegalTransition) as info:
                INCIDENT_WORKFLOW.check(frm, to, "admin")
            assert set(info.value.allowed) == allowed


def test_terminal_states() -> None:
    assert INCIDENT_WORKFLOW.is_terminal("rejected") and INCIDENT_WORKFLOW.is_terminal("evaluated")
    assert not INCIDENT_WORKFLOW.is_terminal("closed")
    with pytest.raises(IllegalTransition, match="the case is finished"):
        INCIDENT_WORKFLOW.check("evaluated", "closed", "admin")


def test_roles() -> None:
    with pytest.raises(Forbidden):
        INCIDENT_WORKFLOW.check("reported", "registered", "grid_worker")
    # 一事一评: no staff role may rate; only the reporter (a role no account has).
    for role in ROLES:
        with pytest.raises(Forbidden):
            INCIDENT_WORKFLOW.check("closed", "evaluated", role)
        assert INCIDENT_WORKFLOW.allowed("closed", role) == ()
    assert REPORTER not in ROLES
    assert INCIDENT_WORKFLOW.allowed("handled", "planner") == ()
    assert INCIDENT_WORKFLOW.allowed("dispatched", "command_operator") == (
        "dispatched",
        "in_progress",
    )


def test_rework_counting_and_escalation_levels() -> None:
    history = [
        (None, "reported"),
        ("reported", "registered"),
        ("registered", "dispatched"),
        ("dispatched", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "closed"),
    ]
    assert count_reworks(history) == 2
    assert [next_escalation_level(x) for x in ("grid", "community", "street", "district")] == [
        "community",
        "street",
        "district",
        None,
    ]


def test_service_orders() -> None:
    path = ["ordered", "published", "claimed", "done", "rated"]
    roles = {
        "published": "community_secretary",
        "claimed": "party_member",
        "done": "party_member",
        "rated": "community_secretary",
    }
    for frm, to in pairwise(path):
        SERVICE_ORDER_WORKFLOW.check(frm, to, roles[to])
    with pytest.raises(Forbidden):
        SERVICE_ORDER_WORKFLOW.check("published", "claimed", "community_secretary")
    with pytest.raises(IllegalTransition):
        SERVICE_ORDER_WORKFLOW.check("ordered", "done", "party_member")
