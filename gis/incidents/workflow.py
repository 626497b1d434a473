"""The closed loop of a case as a pure state machine: states, steps, who may take them.

Digital urban management runs every incident through 上报 → 受理 → 立案 → 派遣 → 处置 → 处置反馈 →
核查 → 结案 → 评价; a case sent back from verification is rework (返工) and is counted. Besides the
loop: 不予受理/不予立案, 改派, 延期申请 and its decision, 挂起/恢复. Each step has an ``action``
name (the label key of the page and the ``action`` of a transition request); some steps keep the
status (改派, 延期申请, 批准/驳回延期), which is why a case offers actions, not target statuses.
Some steps depend on the case beyond its status (:class:`CaseFacts`: a pending extension, where a
suspended case resumes, who handled it): :meth:`Workflow.refusal` says why such a step is not open
now, and :meth:`Workflow.actions` lists only the open ones — the one rule behind both a case's
``allowed_transitions`` and the 403/409 of a step. Service orders (群众点单、组织派单、党员接单) run
on the same engine. Nothing here touches a database: ``gis.incidents.transitions`` locks the row,
gathers the facts (``gis.incidents.duties``), asks :meth:`Workflow.check`, and writes.

>>> INCIDENT_WORKFLOW.actions("handled", "command_operator")
('verify', 'rework')
>>> INCIDENT_WORKFLOW.actions("handled", "command_operator", CaseFacts(handled_by_viewer=True))
()
>>> try:
...     INCIDENT_WORKFLOW.check("reported", "closed", "command_operator")
... except IllegalTransition as exc:
...     print(exc.detail)
cannot go from reported to closed; allowed: accepted, rejected
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import Conflict, Forbidden
from gis.incidents.vocabulary import ESCALATION_LEVELS

# Who works the loop. The command centre (指挥中心) accepts, registers and dispatches; the grid
# (and the department it was dispatched to, acting through a grid or command account) handles;
# the community or the centre verifies, as the category says (never who handled it: CaseFacts);
# the centre closes; supervisors suspend, resume and decide extensions; the reporter rates
# (see REPORTER).
_INTAKE = frozenset({"admin", "command_operator", "street_secretary", "community_secretary"})
_REGISTER = frozenset({"admin", "command_operator", "street_secretary"})
_DISPATCH = frozenset({"admin", "command_operator", "street_secretary"})
_HANDLE = frozenset(
    {"admin", "command_operator", "grid_worker", "grid_chief", "community_secretary"}
)
# Who verifies, per category (``incident_deadline_rule.verified_by``, vocabulary.VERIFIERS).
VERIFIER_ROLES: dict[str, frozenset[str]] = {
    "community": frozenset({"admin", "community_secretary"}),
    "centre": frozenset({"admin", "command_operator"}),
}
_VERIFY = frozenset().union(*VERIFIER_ROLES.values())
_CLOSE = frozenset({"admin", "command_operator"})
# 值班长 and area leaders: suspend and resume, decide extension requests.
_SUPERVISE = frozenset({"admin", "command_operator", "district_secretary", "street_secretary"})
# 一事一评: only the reporter rates his case, proving it with his Open311 token or signed link
# (gis/incidents/rating.py). No account has this role, so no staff member can rate for him.
REPORTER = "reporter"
_EVALUATE = frozenset({REPORTER})

# Steps that take a reason (the request's ``note``): a send-back, an extension request, a
# suspension, refusing an extension.
REASON_REQUIRED = frozenset({"rework", "request_extension", "refuse_extension", "suspend"})
# Steps whose taker must not have handled the case (separation of duties).
_INDEPENDENT = frozenset({"verify", "rework", "close"})


class IllegalTransition(Conflict):
    """A step the current status does not allow (HTTP 409); ``allowed`` lists those that are."""

    def __init__(
        self,
        from_status: str,
        to_status: str,
        allowed: tuple[str, ...],
        action: str | None = None,
        actions: tuple[str, ...] = (),
    ) -> None:
        listed = ", ".join(allowed) if allowed else "none (the case is finished)"
        if action is not None:
            steps = ", ".join(actions) if actions else "none (the case is finished)"
            detail = f"cannot {action}: the case is {from_status} now; its steps: {steps}"
        else:
            detail = f"cannot go from {from_status} to {to_status}; allowed: {listed}"
        super().__init__(detail, parameter="action" if action is not None else "to")
        self.from_status = from_status
        self.to_status = to_status
        self.allowed = allowed


class StepNotOpen(Conflict):
    """A step of this status that the case's facts do not allow now (HTTP 409)."""


@dataclass(frozen=True)
class CaseFacts:
    """What a step may depend on beyond the status and the role (gathered per case and viewer
    by ``gis.incidents.duties.case_facts``)."""

    suspended_from: str | None = None
    pending_extension: bool = False
    # The viewer requested the pending extension (he does not decide it himself).
    requested_by_viewer: bool = False
    # The viewer, or the grid he works for, handled the case (处置反馈 or assignee).
    handled_by_viewer: bool = False
    # Who verifies this case's category: a key of VERIFIER_ROLES.
    verified_by: str = "centre"


@dataclass(frozen=True)
class Step:
    """One allowed edge of a workflow, the roles that may take it and its action name."""

    from_status: str
    to_status: str
    roles: frozenset[str]
    label: str
    rework: bool = False
    action: str = ""

    @property
    def name(self) -> str:
        """The action name (the target status where the step has no name of its own)."""
        return self.action or self.to_status


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
        """The first step from → to (a status-keeping edge's first step is 改派)."""
        return next(
            (s for s in self.steps if s.from_status == from_status and s.to_status == to_status),
            None,
        )

    def allowed(self, from_status: str, role: str | None = None) -> tuple[str, ...]:
        """Statuses reachable from ``from_status`` (by ``role`` when given)."""
        seen: dict[str, None] = {}
        for s in self.steps:
            if s.from_status == from_status and (role is None or role in s.roles):
                seen.setdefault(s.to_status, None)
        return tuple(seen)

    def refusal(self, step: Step, role: str, facts: CaseFacts) -> Forbidden | Conflict | None:
        """Why ``role`` may not take ``step`` on a case with these facts now, or None."""
        if role not in step.roles:
            return Forbidden(
                f"a {role} may not {step.label}; roles that may: {', '.join(sorted(step.roles))}"
            )
        if step.name == "resume" and facts.suspended_from != step.to_status:
            return StepNotOpen(
                f"the case was suspended from {facts.suspended_from}: resuming returns it there",
                parameter="to",
            )
        if step.name == "request_extension" and facts.pending_extension:
            return StepNotOpen(
                "a deadline extension is already waiting for a decision", parameter="action"
            )
        if step.name in ("approve_extension", "refuse_extension"):
            if not facts.pending_extension:
                return StepNotOpen("no deadline extension is waiting", parameter="action")
            if facts.requested_by_viewer:
                return Forbidden(
                    "you asked for this extension yourself: another supervisor decides it"
                )
        if step.name in _INDEPENDENT:
            if facts.handled_by_viewer:
                return Forbidden(
                    "you (or your grid) handled this case: it is verified and closed by someone "
                    "else (separation of duties)"
                )
            if step.from_status == "handled" and role not in VERIFIER_ROLES[facts.verified_by]:
                who = "the community" if facts.verified_by == "community" else "the command centre"
                return Forbidden(
                    f"verification of this category falls to {who}; roles that may: "
                    + ", ".join(sorted(VERIFIER_ROLES[facts.verified_by]))
                )
        return None

    def actions(
        self, from_status: str, role: str, facts: CaseFacts | None = None
    ) -> tuple[str, ...]:
        """The actions ``role`` may take now on a case in ``from_status`` with these facts."""
        facts = facts or CaseFacts()
        names: dict[str, None] = {}
        for s in self.steps:
            if s.from_status == from_status and self.refusal(s, role, facts) is None:
                names.setdefault(s.name, None)
        return tuple(names)

    def resolve(self, from_status: str, to_status: str | None, action: str | None) -> Step:
        """The step a request names: by ``action`` (and ``to``, which must fit), else the
        first step from → ``to``. Raises :class:`IllegalTransition` (409) when there is none."""
        if from_status not in self.states:
            raise IllegalTransition(from_status, to_status or str(action), (), action)
        candidates = [
            s
            for s in self.steps
            if s.from_status == from_status
            and (action is None or s.name == action)
            and (to_status is None or s.to_status == to_status)
        ]
        if not candidates:
            raise IllegalTransition(
                from_status,
                to_status or str(action),
                self.allowed(from_status),
                action,
                tuple(dict.fromkeys(s.name for s in self.steps if s.from_status == from_status)),
            )
        return candidates[0]

    def check(
        self,
        from_status: str,
        to_status: str | None,
        role: str,
        facts: CaseFacts | None = None,
        action: str | None = None,
    ) -> Step:
        """The step a request names if it exists and ``role`` may take it now.

        Raises :class:`IllegalTransition` (409) when the step does not exist,
        :class:`~gis.errors.Forbidden` (403) when it exists but not for this role or person,
        :class:`StepNotOpen` (409) when the case's facts close it now.
        """
        facts = facts or CaseFacts()
        if action == "resume" and to_status is None:
            to_status = facts.suspended_from  # 恢复 returns the case where it was
        step = self.resolve(from_status, to_status, action)
        refusal = self.refusal(step, role, facts)
        if refusal is not None:
            raise refusal
        return step

    def is_terminal(self, status: str) -> bool:
        return not self.allowed(status)


# Statuses a case can be suspended from (挂起); 恢复 returns it there.
SUSPENDABLE = ("registered", "dispatched", "in_progress")
# Statuses in which the handler works against a deadline: extensions are asked for and decided.
EXTENDABLE = ("dispatched", "in_progress")

INCIDENT_WORKFLOW = Workflow(
    name="incident",
    initial="reported",
    steps=(
        Step("reported", "accepted", _INTAKE, "accept the report (受理)", action="accept"),
        Step("reported", "rejected", _INTAKE, "refuse the report (不予受理)", action="refuse"),
        Step("accepted", "registered", _REGISTER, "open the case (立案)", action="register"),
        Step(
            "accepted", "rejected", _REGISTER, "refuse to open a case (不予立案)", action="reject"
        ),
        Step("registered", "dispatched", _DISPATCH, "dispatch (派遣)", action="dispatch"),
        # Re-dispatch: to another grid, level or department.
        Step("dispatched", "dispatched", _DISPATCH, "re-dispatch (改派)", action="redispatch"),
        Step("dispatched", "in_progress", _HANDLE, "take on (签收处置)", action="start"),
        Step("dispatched", "handled", _HANDLE, "report back (处置反馈)", action="report_back"),
        Step("in_progress", "handled", _HANDLE, "report back (处置反馈)", action="report_back"),
        Step("handled", "verified", _VERIFY, "verify (核查通过)", action="verify"),
        Step(
            "handled", "in_progress", _VERIFY, "send back for rework (返工)", True, action="rework"
        ),
        Step("verified", "closed", _CLOSE, "close the case (结案)", action="close"),
        Step(
            "verified", "in_progress", _CLOSE, "send back for rework (返工)", True, action="rework"
        ),
        *(
            Step(
                s, s, _HANDLE, "ask for a deadline extension (延期申请)", action="request_extension"
            )
            for s in EXTENDABLE
        ),
        *(
            Step(s, s, _SUPERVISE, "approve an extension (批准延期)", action="approve_extension")
            for s in EXTENDABLE
        ),
        *(
            Step(s, s, _SUPERVISE, "refuse an extension (驳回延期)", action="refuse_extension")
            for s in EXTENDABLE
        ),
        *(
            Step(s, "suspended", _SUPERVISE, "suspend (挂起)", action="suspend")
            for s in SUSPENDABLE
        ),
        *(Step("suspended", s, _SUPERVISE, "resume (恢复)", action="resume") for s in SUSPENDABLE),
        Step("closed", "evaluated", _EVALUATE, "rate the case (评价)", action="evaluate"),
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
        # 双报到 / 一单一库一函一评一表: the community assigns a need to a unit by letter (函), and
        # records the unit's completion (a unit has no account of its own).
        Step(
            "published",
            "claimed",
            _ORDER_PUBLISH,
            "assign to a unit by letter (发函)",
            action="assign",
        ),
        Step("claimed", "done", _ORDER_PUBLISH, "record the unit's completion", action="unit_done"),
    ),
)
# Who publishes, assigns and rates service orders and 双报到 needs: the community's organisers.
ORDER_ORGANISER_ROLES = _ORDER_PUBLISH


# --- resident case kinds (docs/residents.md) ------------------------------------------------
# A resident submits; the community (or the street, the centre) takes it on and names who
# answers; that person (grid, community, street staff) answers; the resident who submitted it
# rates the answer (一事一评). A petition that is really a spot on the map converts into an
# incident (gis/petitions/cases.py keeps its history there).
RESIDENT = "resident"
_PETITION_TAKE = frozenset(
    {"admin", "command_operator", "district_secretary", "street_secretary", "community_secretary"}
)
_PETITION_ANSWER = _PETITION_TAKE | frozenset({"grid_chief", "grid_worker"})

PETITION_WORKFLOW = Workflow(
    name="petition",
    initial="submitted",
    steps=(
        Step(
            "submitted", "assigned", _PETITION_TAKE, "accept and assign (受理交办)", action="assign"
        ),
        Step("submitted", "rejected", _PETITION_TAKE, "refuse (不予受理)", action="refuse"),
        Step("assigned", "assigned", _PETITION_TAKE, "re-assign (改派)", action="reassign"),
        Step("assigned", "answered", _PETITION_ANSWER, "answer (答复)", action="answer"),
        *(
            Step(
                s,
                "converted",
                _PETITION_TAKE,
                "convert to an incident (转为事件)",
                action="convert",
            )
            for s in ("submitted", "assigned")
        ),
        Step("answered", "rated", frozenset({RESIDENT}), "rate the answer (评价)", action="rate"),
    ),
)

# Disputes: the grid's mediator registers and mediates; a dispute it cannot settle goes up to the
# community's and then the street's mediation committee (升级). Which roles mediate at each
# level: MEDIATOR_ROLES (the step's roles are the union; the level narrows them).
MEDIATOR_ROLES: dict[str, frozenset[str]] = {
    "grid": frozenset({"admin", "grid_chief", "grid_worker"}),
    "community": frozenset({"admin", "community_secretary"}),
    "street": frozenset({"admin", "street_secretary"}),
}
_MEDIATE = frozenset().union(*MEDIATOR_ROLES.values())

DISPUTE_WORKFLOW = Workflow(
    name="dispute",
    initial="registered",
    steps=(
        Step("registered", "mediating", _MEDIATE, "take on mediation (受理调解)", action="start"),
        Step("mediating", "mediating", _MEDIATE, "escalate (提交上级调解)", action="escalate"),
        Step("mediating", "agreed", _MEDIATE, "record the agreement (调解协议)", action="agree"),
        Step("mediating", "failed", _MEDIATE, "end without agreement (调解不成)", action="fail"),
        *(
            Step(s, "withdrawn", _MEDIATE, "withdrawn by the parties (撤回)", action="withdraw")
            for s in ("registered", "mediating")
        ),
        Step("agreed", "followed_up", _MEDIATE, "follow-up visit (回访)", action="follow_up"),
    ),
)

CASE_WORKFLOWS = {
    "incident": INCIDENT_WORKFLOW,
    "petition": PETITION_WORKFLOW,
    "dispute": DISPUTE_WORKFLOW,
}


def next_escalation_level(level: str) -> str | None:
    """One level up the area tree, or None at the top.

    >>> next_escalation_level("grid"), next_escalation_level("district")
    ('community', None)
    """
    i = ESCALATION_LEVELS.index(level)
    return ESCALATION_LEVELS[i + 1] if i + 1 < len(ESCALATION_LEVELS) else None


def count_reworks(statuses: list[tuple[str | None, str]]) -> int:
    """How many times a history of (from, to) pairs sent the case back for rework.

    >>> count_reworks([(None, "reported"), ("handled", "in_progress"), ("handled", "verified")])
    1
    """
    return sum(
        1
        for frm, to in statuses
        if frm is not None and (step := INCIDENT_WORKFLOW.step(frm, to)) and step.rework
    )
