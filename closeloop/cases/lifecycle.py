"""The case lifecycle as a python-statemachine `StateMachine`, generated from the action table
(actions.py): one event per action, one transition per source state, the kind rule as a guard
(a letter case is never returned, cancelled or merged; only a letter case is withdrawn).

The state field on the row is the truth; the machine decides which actions the current state and
the case's kind allow, and moves the field. What a (state, kind) allows is computed once and kept:
a list of cases never builds a machine per row. `allowed_actions` adds the table's roles and
preconditions for one caller.
"""

from datetime import datetime
from functools import lru_cache
from operator import is_
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.cases.actions import EVERY_KIND, TABLE, Definition
from closeloop.cases.requests import Pending, Precondition
from closeloop.config import Settings
from closeloop.text import Msg
from models.case import Case
from models.enums import Action, CaseKind, CaseState, Role


def _guard_name(kinds: frozenset[CaseKind]) -> str:
    return "kind_is_" + "_or_".join(k for k in CaseKind if k in kinds)


def _build(table: dict[Action, Definition]) -> type[StateMachine]:
    states = {s: State(value=s.value, initial=s == CaseState.reported) for s in CaseState}
    namespace: dict[str, Any] = {
        # `cancelled` ends a case but is not a final state of the machine: a closed case can
        # reopen, and a cancelled one simply has no way out.
        "validate_trap_states": False,
        "validate_final_reachability": False,
        **{s.name: state for s, state in states.items()},
    }
    for d in table.values():
        guard: dict[str, Any] = {}
        if d.kinds != EVERY_KIND:
            name = guard["cond"] = _guard_name(d.kinds)
            namespace[name] = _kind_guard(d.kinds)
        moves = [
            # A record (requests, decisions) leaves the state alone: an internal self-transition.
            states[s].to.itself(internal=True, **guard)
            if d.target is None
            else states[s].to(states[d.target], **guard)
            for s in d.sources
        ]
        event = moves[0]
        for move in moves[1:]:
            event = event | move
        namespace[_EVENT_OF.get(d.action, d.action.value)] = event
    return type("CaseLifecycle", (StateMachine,), namespace)


def _kind_guard(kinds: frozenset[CaseKind]) -> Any:
    def guard(self: StateMachine) -> bool:
        return str(getattr(self.model, "kind", "")) in kinds

    return guard


# Python keywords cannot name events, so the machine's event ids differ from action names here.
_EVENT_OF = {Action.return_: "return_case"}
_ACTION_OF = {v: k for k, v in _EVENT_OF.items()}

CaseLifecycle = _build(TABLE)


class ActionNotAllowed(Exception):
    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        super().__init__(f"{action} is not allowed in state {state}")
        self.state = state
        self.action = action
        self.allowed = allowed


def machine_for(row: Any) -> StateMachine:
    return CaseLifecycle(model=row, state_field="state")


def actions_in(state: str, kind: str) -> list[str]:
    """The actions the lifecycle allows from `state` for a case of `kind`, whoever asks (the
    guards included); computed once per (state, kind) and kept."""
    return list(_actions_in(str(state), str(kind)))


@lru_cache(maxsize=64)
def _actions_in(state: str, kind: str) -> tuple[str, ...]:
    machine = machine_for(_Holder(state, kind))
    return tuple(str(_ACTION_OF.get(e.id, e.id)) for e in machine.enabled_events())


def fire(row: Any, action: str) -> tuple[str, str]:
    """Move `row.state` by `action`; returns (from_state, to_state). Raises ActionNotAllowed."""
    before = str(row.state)
    event = _EVENT_OF.get(Action(action), action) if action in Action._value2member_map_ else None
    kind = str(row.kind)
    after = None if event is None else _move(before, kind, event)
    if after is None:
        raise ActionNotAllowed(before, action, actions_in(before, kind))
    if after != before:
        row.state = after
    return before, after


@lru_cache(maxsize=1024)
def _move(state: str, kind: str, event: str) -> str | None:
    """Where the machine takes a case of `kind` in `state` by `event` (None: not allowed). The
    machine has no callbacks and its guards read only the kind, so the answer depends on these
    three alone: it is asked of the machine once per triple and kept, instead of a machine built
    for every action (2–6 ms of CPU each)."""
    holder = _Holder(state, kind)
    try:
        machine_for(holder).send(event)
    except TransitionNotAllowed:
        return None
    return str(holder.state)


def allowed_actions(
    case: Case, actor: Principal, *, pending: Pending, now: datetime, settings: Settings
) -> list[str]:
    """The actions this caller may take on this case now, by the table: state and kind (the
    machine), jurisdiction, role and the preconditions that do not depend on the input."""
    if not policy.can_see(
        actor, unit_code=case.unit_code, region_path=case.region_path, reporter_id=case.reporter_id
    ):
        return []
    own = actor.role == Role.reporter and case.reporter_id == actor.id
    return [
        action
        for action, precondition in _candidates(str(case.state), str(case.kind), actor.role, own)
        if precondition is None or not precondition(case, pending, now, settings)
    ]


# (state, kind, role, own) → ((the actions asked, their definitions), the actions that passed
# the role rule).
_CANDIDATES: dict[
    tuple[str, str, str, bool],
    tuple[
        tuple[tuple[str, ...], tuple[Definition, ...]], tuple[tuple[str, Precondition | None], ...]
    ],
] = {}


def _candidates(
    state: str, kind: str, role: str, own: bool
) -> tuple[tuple[str, Precondition | None], ...]:
    """The actions of `state` and `kind` that the table's role rule lets a user of `role` take
    (`own`: a reporter asking about a case they filed), with their preconditions: may_take
    itself, asked once per key and kept while the table holds the same definitions, instead of
    for every action of every row of a list. The role rule (actions.Who.may) reads only the
    user's role and whether they reported the case, so a user with just these stands for any
    user of the key."""
    key = (state, kind, role, own)
    kept = _CANDIDATES.get(key)
    if kept is not None and all(map(is_, map(TABLE.get, kept[0][0]), kept[0][1])):  # type: ignore[arg-type]
        return kept[1]
    user = Principal(id=0, username="", display_name="", role=Role(role))
    holder = _Holder(state, kind)
    holder.reporter_id = 0 if own else None  # type: ignore[attr-defined]
    asked = tuple((a, TABLE[Action(a)]) for a in actions_in(state, kind))
    passed = tuple(
        (a, d.precondition)
        for a, d in asked
        if may_take(user, d, holder)  # type: ignore[arg-type]
    )
    # The actions asked and their definitions apart: checked against the table by two maps.
    _CANDIDATES[key] = ((tuple(a for a, _ in asked), tuple(d for _, d in asked)), passed)
    return passed


def may_take(actor: Principal, d: Definition, case: Case) -> bool:
    """The table's role rule (jurisdiction apart)."""
    return d.by_hand is None and d.who.may(actor, kind=case.kind, reporter_id=case.reporter_id)


def precondition_failure(
    case: Case, d: Definition, pending: Pending, now: datetime, settings: Settings
) -> Msg | None:
    return d.precondition(case, pending, now, settings) if d.precondition else None


class _Holder:
    def __init__(self, state: str, kind: str) -> None:
        self.state = state
        self.kind = kind


def describe(action: Action) -> str:
    """One line of API documentation for `action`, from its definition."""
    d = TABLE[action]
    parts = [f"from {', '.join(d.sources)} to {d.target or 'the same state'}"]
    if d.kinds != EVERY_KIND:
        parts.append(f"{' and '.join(k for k in CaseKind if k in d.kinds)} cases only")
    if d.by_hand:
        parts.append("never by hand")
    else:
        by = {", ".join(d.who.roles_for(k)) for k in d.kinds}
        if len(by) == 1:
            parts.append(f"by {by.pop()}")
        else:
            parts.append(
                "by "
                + "; ".join(
                    f"{', '.join(d.who.roles_for(k))} ({k})" for k in CaseKind if k in d.kinds
                )
            )
        if d.who.own_reporter:
            kinds = " or ".join(k for k in CaseKind if k in d.who.own_reporter)
            parts.append(f"an {kinds} also by the reporter who filed it")
    n = d.needs
    wanted = [
        name
        for name, on in (
            ("a reason", n.reason),
            ("days", n.days),
            ("unit_code (or the category's unit)", n.unit),
            ("target_case_id", n.target),
        )
        if on
    ]
    if n.satisfaction:
        wanted.append("satisfaction (satisfied, basically_satisfied or unsatisfied)")
    if n.evidence:
        kinds = " or ".join(k for k in CaseKind if k in n.evidence)
        wanted.append(f"attachment_ids (evidence) for a {kinds}")
    if wanted:
        parts.append("needs " + ", ".join(wanted))
    return f"`{action.value}`: " + "; ".join(parts) + "."
