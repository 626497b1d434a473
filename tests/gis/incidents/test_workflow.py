"""The pure case-loop state machine: steps, roles, and the facts that open or close a step
(separation of duties, a pending extension, where a suspended case resumes)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from gis.errors import Forbidden
from gis.incidents import vocabulary
from gis.incidents.workflow import (
    INCIDENT_WORKFLOW,
    REPORTER,
    SERVICE_ORDER_WORKFLOW,
    CaseFacts,
    IllegalTransition,
    StepNotOpen,
    count_reworks,
    next_escalation_level,
)
from gis.scope import ROLES

# (action, status after, role): the loop a digital urban-management centre runs.
HAPPY_PATH = [
    ("accept", "accepted", "command_operator"),
    ("register", "registered", "command_operator"),
    ("dispatch", "dispatched", "command_operator"),
    ("start", "in_progress", "grid_worker"),
    ("report_back", "handled", "grid_worker"),
    ("verify", "verified", "command_operator"),
    ("close", "closed", "command_operator"),
    ("evaluate", "evaluated", REPORTER),
]


def test_the_happy_path_is_allowed_step_by_step() -> None:
    status = INCIDENT_WORKFLOW.initial
    for action, to, role in HAPPY_PATH:
        assert action in INCIDENT_WORKFLOW.actions(status, role)
        step = INCIDENT_WORKFLOW.check(status, None, role, action=action)
        assert step.to_status == to
        # Naming the target status alone finds the same step.
        assert INCIDENT_WORKFLOW.check(status, to, role).name == action
        status = to


def test_every_illegal_pair_lists_the_allowed_ones() -> None:
    states = INCIDENT_WORKFLOW.states
    assert set(states) == set(vocabulary.STATUSES)
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


def test_accepting_and_registering_are_separate_decisions() -> None:
    assert INCIDENT_WORKFLOW.actions("reported", "command_operator") == ("accept", "refuse")
    assert INCIDENT_WORKFLOW.actions("accepted", "command_operator") == ("register", "reject")
    with pytest.raises(IllegalTransition, match="allowed: accepted, rejected"):
        INCIDENT_WORKFLOW.check("reported", "registered", "command_operator")
    # A community secretary accepts a report; opening a case is the centre's or the street's.
    assert INCIDENT_WORKFLOW.actions("accepted", "community_secretary") == ()


def test_roles() -> None:
    with pytest.raises(Forbidden):
        INCIDENT_WORKFLOW.check("reported", "accepted", "grid_worker")
    # 一事一评: no staff role may rate; only the reporter (a role no account has).
    for role in ROLES:
        with pytest.raises(Forbidden):
            INCIDENT_WORKFLOW.check("closed", "evaluated", role)
        assert INCIDENT_WORKFLOW.actions("closed", role) == ()
    assert REPORTER not in ROLES
    assert INCIDENT_WORKFLOW.actions("handled", "planner") == ()
    # The grid handles; it neither verifies nor closes.
    assert INCIDENT_WORKFLOW.actions("handled", "grid_worker") == ()
    assert INCIDENT_WORKFLOW.actions("verified", "grid_chief") == ()
    assert INCIDENT_WORKFLOW.actions("dispatched", "grid_worker") == (
        "start",
        "report_back",
        "request_extension",
    )
    assert INCIDENT_WORKFLOW.actions("dispatched", "command_operator") == (
        "redispatch",
        "start",
        "report_back",
        "request_extension",
        "suspend",
    )


def test_the_handler_does_not_verify_rework_or_close() -> None:
    handled_it = CaseFacts(handled_by_viewer=True)
    for status, action in (("handled", "verify"), ("handled", "rework"), ("verified", "close")):
        assert action in INCIDENT_WORKFLOW.actions(status, "command_operator")
        assert action not in INCIDENT_WORKFLOW.actions(status, "command_operator", handled_it)
        with pytest.raises(Forbidden, match="separation of duties"):
            INCIDENT_WORKFLOW.check(status, None, "command_operator", handled_it, action)


def test_who_verifies_follows_the_category() -> None:
    community = CaseFacts(verified_by="community")
    assert INCIDENT_WORKFLOW.actions("handled", "community_secretary", community) == (
        "verify",
        "rework",
    )
    assert INCIDENT_WORKFLOW.actions("handled", "command_operator", community) == ()
    with pytest.raises(Forbidden, match="falls to the community"):
        INCIDENT_WORKFLOW.check("handled", "verified", "command_operator", community)
    assert INCIDENT_WORKFLOW.actions("handled", "community_secretary", CaseFacts()) == ()
    # An admin may verify either way (unless he handled it).
    assert "verify" in INCIDENT_WORKFLOW.actions("handled", "admin", community)


def test_one_pending_extension_decided_by_someone_else() -> None:
    pending = CaseFacts(pending_extension=True)
    assert "request_extension" in INCIDENT_WORKFLOW.actions("in_progress", "grid_worker")
    assert "request_extension" not in INCIDENT_WORKFLOW.actions(
        "in_progress", "grid_worker", pending
    )
    with pytest.raises(StepNotOpen, match="already waiting"):
        INCIDENT_WORKFLOW.check("in_progress", None, "grid_worker", pending, "request_extension")
    assert INCIDENT_WORKFLOW.actions("in_progress", "command_operator", pending)[-3:] == (
        "approve_extension",
        "refuse_extension",
        "suspend",
    )
    with pytest.raises(StepNotOpen, match="no deadline extension"):
        INCIDENT_WORKFLOW.check("in_progress", None, "command_operator", None, "approve_extension")
    mine = CaseFacts(pending_extension=True, requested_by_viewer=True)
    with pytest.raises(Forbidden, match="another supervisor"):
        INCIDENT_WORKFLOW.check("in_progress", None, "command_operator", mine, "approve_extension")
    # The grid asks; it does not decide.
    assert "approve_extension" not in INCIDENT_WORKFLOW.actions(
        "in_progress", "grid_chief", pending
    )


def test_resume_returns_where_the_case_was_suspended() -> None:
    facts = CaseFacts(suspended_from="dispatched")
    assert INCIDENT_WORKFLOW.actions("suspended", "command_operator", facts) == ("resume",)
    assert (
        INCIDENT_WORKFLOW.check("suspended", None, "command_operator", facts, "resume").to_status
        == "dispatched"
    )
    with pytest.raises(StepNotOpen, match="suspended from dispatched"):
        INCIDENT_WORKFLOW.check("suspended", "in_progress", "command_operator", facts)
    assert INCIDENT_WORKFLOW.actions("suspended", "grid_worker", facts) == ()


def test_rework_counting_and_escalation_levels() -> None:
    history = [
        (None, "reported"),
        ("reported", "accepted"),
        ("accepted", "registered"),
        ("registered", "dispatched"),
        ("dispatched", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "verified"),
        ("verified", "in_progress"),
        ("in_progress", "handled"),
        ("handled", "verified"),
        ("verified", "closed"),
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
