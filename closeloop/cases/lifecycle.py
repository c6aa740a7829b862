"""The case lifecycle as a python-statemachine `StateMachine`, built per call around the row.

The state field on the row is the truth; the machine only decides which actions the current state
(and the case's kind) allows and moves the field. Who may act, and what an action needs, is decided
in policy.py and in the case service.

The kind rule lives here as guards: a letter case (督办件) is issued by a letter, never reported, so
it cannot be returned (退单), cancelled or merged; it ends early only when its letter is withdrawn
(作废), through `withdraw`, which only letter cases have.
"""

from functools import lru_cache
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from models.enums import Action, CaseKind, CaseState

# Python keywords cannot name events, so the machine's event ids differ from action names here.
_EVENT_OF = {Action.return_: "return_case"}
_ACTION_OF = {v: k for k, v in _EVENT_OF.items()}


class CaseLifecycle(StateMachine):
    # `cancelled` ends a case but is not a final state of the machine: a closed case can reopen,
    # and a cancelled one simply has no way out.
    validate_trap_states = False
    validate_final_reachability = False

    reported = State(value=CaseState.reported.value, initial=True)
    dispatched = State(value=CaseState.dispatched.value)
    rectifying = State(value=CaseState.rectifying.value)
    suspended = State(value=CaseState.suspended.value)
    verifying = State(value=CaseState.verifying.value)
    closed = State(value=CaseState.closed.value)
    cancelled = State(value=CaseState.cancelled.value)

    dispatch = reported.to(dispatched)
    cancel = reported.to(cancelled, unless="is_letter")
    merge = reported.to(cancelled, unless="is_letter")
    return_case = dispatched.to(reported, unless="is_letter")
    sign = dispatched.to(rectifying)
    suspend = rectifying.to(suspended)
    resume = suspended.to(rectifying)
    submit = rectifying.to(verifying)
    approve = verifying.to(closed)
    reject = verifying.to(rectifying)
    reopen = closed.to(rectifying)
    # Requests and decisions are records, not states: internal self-transitions that leave the
    # state alone but let the machine say whether they are allowed now.
    request_extension = rectifying.to.itself(internal=True)
    approve_extension = rectifying.to.itself(internal=True) | suspended.to.itself(internal=True)
    reject_extension = rectifying.to.itself(internal=True) | suspended.to.itself(internal=True)
    request_suspension = rectifying.to.itself(internal=True)
    reject_suspension = rectifying.to.itself(internal=True)
    # A withdrawn letter (作废) ends its letter case from any open state.
    withdraw = (
        dispatched.to(cancelled, cond="is_letter")
        | rectifying.to(cancelled, cond="is_letter")
        | suspended.to(cancelled, cond="is_letter")
        | verifying.to(cancelled, cond="is_letter")
    )

    def is_letter(self) -> bool:
        return str(getattr(self.model, "kind", "")) == CaseKind.letter


# What a letter case can never do, whatever its state (for the refusal's words).
LETTER_NEVER = (Action.return_, Action.cancel, Action.merge)


class ActionNotAllowed(Exception):
    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        super().__init__(f"{action} is not allowed in state {state}")
        self.state = state
        self.action = action
        self.allowed = allowed


def machine_for(row: Any) -> CaseLifecycle:
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
    machine = machine_for(row)
    before = str(row.state)
    event = _EVENT_OF.get(Action(action), action) if action in Action._value2member_map_ else None
    kind = str(row.kind)
    if event is None:
        raise ActionNotAllowed(before, action, actions_in(before, kind))
    try:
        machine.send(event)
    except TransitionNotAllowed:
        raise ActionNotAllowed(before, action, actions_in(before, kind)) from None
    return before, str(row.state)


class _Holder:
    def __init__(self, state: str, kind: str) -> None:
        self.state = state
        self.kind = kind
