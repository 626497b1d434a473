"""The closed loop of a case as a pure state machine: states, steps, who may take them.

Digital urban management runs every incident through 上报 → 受理立案 → 派遣 → 处置 → 处置反馈 →
核查结案 → 评价; a case sent back from verification is rework (返工) and is counted. Service
orders (群众点单、组织派单、党员接单) run on the same engine with their own states. Nothing here
touches a database: ``gis.incidents.transitions`` locks the row, asks :meth:`Workflow.check`, and
writes.

>>> INCIDENT_WORKFLOW.allowed("handled", "grid_chief")
('closed', 'in_progress')
>>> try:
...     INCIDENT_WORKFLOW.check("reported", "closed", "command_operator")
... except IllegalTransition as exc:
...     print(exc.detail)
cannot go from reported to closed; allowed: registered, rejected
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import Conflict, Forbidden
from gis.incidents.vocabulary import ESCALATION_LEVELS

# Who works the loop. The command centre (指挥中心) accepts, registers and dispatches; the grid
# (and the department it was dispatched to, acting through a grid or command account) handles;
# the grid verifies; the reporter rates (see REPORTER).
_INTAKE = frozenset({"admin", "command_operator", "street_secretary", "community_secretary"})
_DISPATCH = frozenset({"admin", "command_operator", "street_secretary"})
_HANDLE = frozenset(
    {"admin", "command_operator", "grid_worker", "grid_chief", "community_secretary"}
)
_VERIFY = frozenset({"admin", "command_operator", "grid_chief", "grid_worker"})
# 一事一评: only the reporter rates his case, proving it with his Open311 token or signed link
# (gis/incidents/rating.py). No account has this role, so no staff member can rate for him.
REPORTER = "reporter"
_EVALUATE = frozenset({REPORTER})


class IllegalTransition(Conflict):
    """A step the current status does not allow (HTTP 409); ``allowed`` lists those that are."""

    def __init__(self, from_status: str, to_status: str, allowed: tuple[str, ...]) -> None:
        listed = ", ".join(allowed) if allowed else "none (the case is finished)"
        super().__init__(
            f"cannot go from {from_status} to {to_status}; allowed: {listed}", parameter="to"
        )
        self.from_status = from_status
        self.to_status = to_status
        self.allowed = allowed


@dataclass(frozen=True)
class Step:
    """One allowed edge of a workflow and the roles that may take it."""

    from_status: str
    to_status: str
    roles: frozenset[str]
    label: str
    rework: bool = False


@dataclass(frozen=True)
class Workflow:
    """A set of steps between named states."""

    name: str
    initial: str
    steps: tuple[Step, ...]

    @property
    def states(self) -> tuple[str, ...]:
        seen: dict[str, None] = {self.initial: None}
        for step in self.steps:
            seen.setdefault(step.from_status, None)
            seen.setdefault(step.to_status, None)
        return tuple(seen)

    def step(self, from_status: str, to_status: str) -> Step | None:
        return next(
            (s for s in self.steps if s.from_status == from_status and s.to_status == to_status),
            None,
        )

    def allowed(self, from_status: str, role: str | None = None) -> tuple[str, ...]:
        """Statuses reachable from ``from_status`` (by ``role`` when given)."""
        return tuple(
            s.to_status
            for s in self.steps
            if s.from_status == from_status and (role is None or role in s.roles)
        )

    def check(self, from_status: str, to_status: str, role: str) -> Step:
        """The step from → to if it exists and ``role`` may take it.

        Raises :class:`IllegalTransition` (409) when the step does not exist, and
        :class:`~gis.errors.Forbidden` (403) when it exists but not for this role.
        """
        if from_status not in self.states:
            raise IllegalTransition(from_status, to_status, ())
        step = self.step(from_status, to_status)
        if step is None:
            raise IllegalTransition(from_status, to_status, self.allowed(from_status))
        if role not in step.roles:
            raise Forbidden(
                f"a {role} may not {step.label}; roles that may: {', '.join(sorted(step.roles))}"
            )
        return step

    def is_terminal(self, status: str) -> bool:
        return not self.allowed(status)


INCIDENT_WORKFLOW = Workflow(
    name="incident",
    initial="reported",
    steps=(
        Step("reported", "registered", _INTAKE, "accept and register (受理立案)"),
        Step("reported", "rejected", _INTAKE, "refuse (不予立案)"),
        Step("registered", "dispatched", _DISPATCH, "dispatch (派遣)"),
        # Re-dispatch: to another grid, level or department.
        Step("dispatched", "dispatched", _DISPATCH, "re-dispatch (改派)"),
        Step("dispatched", "in_progress", _HANDLE, "take on (处置)"),
        Step("in_progress", "handled", _HANDLE, "report back (处置反馈)"),
        Step("handled", "closed", _VERIFY, "verify and close (核查结案)"),
        Step("handled", "in_progress", _VERIFY, "send back for rework (返工)", rework=True),
        Step("closed", "evaluated", _EVALUATE, "rate the case (评价)"),
    ),
)

_ORDER_PUBLISH = frozenset({"admin", "community_secretary", "party_instructor"})
_ORDER_CLAIM = frozenset({"party_member"})
_ORDER_RATE = frozenset({"admin", "community_secretary", "party_instructor"})

SERVICE_ORDER_WORKFLOW = Workflow(
    name="service_order",
    initial="ordered",
    steps=(
        Step("ordered", "published", _ORDER_PUBLISH, "publish the order (组织派单)"),
        Step("ordered", "cancelled", _ORDER_PUBLISH, "cancel the order"),
        Step("published", "claimed", _ORDER_CLAIM, "claim the order (党员接单)"),
        Step("published", "cancelled", _ORDER_PUBLISH, "cancel the order"),
        Step("claimed", "done", _ORDER_CLAIM, "report the service done"),
        # The member cannot do it after all: back to the pool for someone else.
        Step("claimed", "published", _ORDER_CLAIM | _ORDER_PUBLISH, "release the order"),
        Step("done", "rated", _ORDER_RATE, "record the resident's rating (一事一评)"),
    ),
)


def next_escalation_level(level: str) -> str | None:
    """One level up the area tree, or None at the top.

    >>> next_escalation_level("grid"), next_escalation_level("district")
    ('community', None)
    """
    i = ESCALATION_LEVELS.index(level)
    return ESCALATION_LEVELS[i + 1] if i + 1 < len(ESCALATION_LEVELS) else None


def count_reworks(statuses: list[tuple[str | None, str]]) -> int:
    """How many times a history of (from, to) pairs sent the case back for rework.

    >>> count_reworks([(None, "reported"), ("handled", "in_progress"), ("handled", "closed")])
    1
    """
    return sum(
        1
        for frm, to in statuses
        if frm is not None and (step := INCIDENT_WORKFLOW.step(frm, to)) and step.rework
    )
