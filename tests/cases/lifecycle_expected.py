"""The lifecycle table of DESIGN.md, recorded by hand: what every role may do with every action
from every state, per kind. Written from DESIGN.md ("Who uses it", "Lifecycle") and the decisions
recorded for the core, NOT derived from closeloop.cases (tests/cases/test_lifecycle_table.py
checks the code against it)."""

from dataclasses import dataclass
from typing import Any

# --- the expectation, from DESIGN.md -------------------------------------------------------------

STATES = [
    "reported",
    "dispatched",
    "rectifying",
    "suspended",
    "verifying",
    "closed",
    "cancelled",
]

# action: (states it may be taken from, state it leads to; None = a record, the state stays)
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    "dispatch": (frozenset({"reported"}), "dispatched"),
    "cancel": (frozenset({"reported"}), "cancelled"),
    "merge": (frozenset({"reported"}), "cancelled"),
    "return": (frozenset({"dispatched"}), "reported"),
    "sign": (frozenset({"dispatched"}), "rectifying"),
    "suspend": (frozenset({"rectifying"}), "suspended"),
    "resume": (frozenset({"suspended"}), "rectifying"),
    "submit": (frozenset({"rectifying"}), "verifying"),
    "approve": (frozenset({"verifying"}), "closed"),
    "reject": (frozenset({"verifying"}), "rectifying"),
    "reopen": (frozenset({"closed"}), "rectifying"),
    "request_extension": (frozenset({"rectifying"}), None),
    # Decided while rectifying, and also while suspended (a request may be pending then).
    "approve_extension": (frozenset({"rectifying", "suspended"}), None),
    "reject_extension": (frozenset({"rectifying", "suspended"}), None),
    # Not in DESIGN's table as an action: the handler's "suspend request", a record.
    "request_suspension": (frozenset({"rectifying"}), None),
    # …and the supervisor's refusal of it (granting it is `suspend`).
    "reject_suspension": (frozenset({"rectifying"}), None),
    # A letter case ends early when its letter is withdrawn (作废); only letter cases have it.
    "withdraw": (frozenset({"dispatched", "rectifying", "suspended", "verifying"}), "cancelled"),
    # 回访: a record on a closed case; 重办: an unsatisfied follow-up sends it back to its unit.
    "follow_up": (frozenset({"closed"}), None),
    "rework": (frozenset({"closed"}), "rectifying"),
    # Return review (issue 14): a unit asks to return a case (before signing only if it has
    # returned it once already; after signing always); a supervisor grants it (back to reported)
    # or refuses it, also while the case is suspended meanwhile.
    "request_return": (frozenset({"dispatched", "rectifying"}), None),
    "approve_return": (frozenset({"dispatched", "rectifying", "suspended"}), "reported"),
    "reject_return": (frozenset({"dispatched", "rectifying", "suspended"}), None),
    # Re-dispatch (改派) to another unit, by the desk.
    "redispatch": (frozenset({"dispatched", "rectifying"}), "dispatched"),
}
ACTIONS = list(MOVES)

# "Case kinds": the kind changes guards, not the shape. A letter case (督办件) is issued, never
# reported, so it can never be returned (退单), cancelled (不予立案) or merged (CONTRACT additions);
# `withdraw` belongs to letter cases alone.
NEVER_FOR_KIND: dict[str, frozenset[str]] = {
    "event": frozenset({"withdraw"}),
    "hazard": frozenset({"withdraw"}),
    "letter": frozenset({"return", "cancel", "merge"}),
}
# Only events have a rework after a follow-up (hazards and letter cases are never followed up:
# nobody outside the bureau reported them; `follow_up` is refused them by role, see WHO_BY_KIND).
NEVER_FOR_KIND["hazard"] = NEVER_FOR_KIND["hazard"] | {"rework"}
NEVER_FOR_KIND["letter"] = NEVER_FOR_KIND["letter"] | {"rework"}


def sources(action: str, kind: str) -> frozenset[str]:
    return frozenset() if action in NEVER_FOR_KIND[kind] else MOVES[action][0]


# The roles of the table, relative to the case, and the user who plays each. The cases are filed
# in grid G1 (street S1, district D1) and dispatched to unit ZJ; events are filed by rep1, hazards
# by the desk (a grid worker does not file hazards), so for a hazard rep1 is a reporter of the
# case's grid who did not file it.
ROLES = {
    "reporter_filer": "rep1",
    "reporter_other": "rep3",
    "dispatcher": "disp",
    "supervisor": "sup",
    "handler_unit": "h_zj",
    "handler_other": "h_sw",
    "admin": "admin",
}

DESK = frozenset({"dispatcher", "supervisor"})
HANDLER = frozenset({"handler_unit", "handler_other"})  # jurisdiction tells them apart
LEADER = frozenset({"supervisor"})

# Who may take each action, by role (before jurisdiction). Admin takes no case actions.
WHO: dict[str, frozenset[str]] = {
    "dispatch": DESK,
    "cancel": DESK,
    "merge": DESK,
    "return": HANDLER,
    "sign": HANDLER,
    "submit": HANDLER,
    "request_extension": HANDLER,
    "request_suspension": HANDLER,
    "suspend": LEADER,
    "resume": LEADER,
    "reopen": LEADER,
    "approve_extension": LEADER,
    "reject_extension": LEADER,
    "reject_suspension": LEADER,
    # Nobody withdraws a letter case by hand: withdrawing its letter does (the letters service).
    "withdraw": frozenset(),
    "request_return": HANDLER,
    "approve_return": LEADER,
    "reject_return": LEADER,
    "redispatch": DESK,
    # Nobody reworks by hand: an unsatisfied follow-up does (the follow-up's own transaction).
    "rework": frozenset(),
}
# Follow-up (回访): an event by the desk or by the grid worker who filed it; no other kind.
WHO_BY_KIND: dict[str, dict[str, frozenset[str]]] = {
    "follow_up": {
        "event": DESK | {"reporter_filer"},
        "hazard": frozenset(),
        "letter": frozenset(),
    },
}
# Verification: events by the desk or by the grid worker who reported them; hazards by leadership.
VERIFIERS: dict[str, frozenset[str]] = {
    "event": DESK | {"reporter_filer"},
    "hazard": LEADER,
    "letter": LEADER,  # a letter's reply is verified by leadership
}

HELD_BY_UNIT = {"dispatched", "rectifying", "suspended", "verifying", "closed"}


def who(action: str, kind: str) -> frozenset[str]:
    if action in ("approve", "reject"):
        return VERIFIERS[kind]
    if action in WHO_BY_KIND:
        return WHO_BY_KIND[action][kind]
    return WHO[action]


def sees(kind: str, state: str, role: str) -> bool:
    """Jurisdiction: admin everything; the desk its region subtree (D1 holds every grid); a
    reporter only what they filed; a handler only cases dispatched to their unit (a letter case
    stays with its unit when its letter is withdrawn; nobody files one, so no reporter sees it)."""
    if role in ("admin", "dispatcher", "supervisor"):
        return True
    if role == "reporter_filer":
        return kind == "event"
    if role == "handler_unit":
        return state in HELD_BY_UNIT or (kind == "letter" and state == "cancelled")
    return False


@dataclass(frozen=True)
class Expect:
    outcome: str  # "ok", "forbidden" or "conflict"
    to_state: str | None = None


def expect(kind: str, state: str, role: str, action: str, *, pending_extension: bool) -> Expect:
    if not sees(kind, state, role) or role not in who(action, kind):
        return Expect("forbidden")
    target = MOVES[action][1]
    if state not in sources(action, kind):
        return Expect("conflict")
    if action == "request_extension" and pending_extension:
        return Expect("conflict")
    if action in ("approve_extension", "reject_extension") and not pending_extension:
        return Expect("conflict")
    if action == "reject_suspension":  # no case of this table has a suspension request pending
        return Expect("conflict")
    # A letter case is never returned nor re-dispatched: it goes to its letter's unit.
    if action in ("request_return", "redispatch") and kind == "letter":
        return Expect("conflict")
    # No case of this table was returned by its unit before: before signing it returns directly.
    if action == "request_return" and state == "dispatched":
        return Expect("conflict")
    # No case of this table has a return request pending (test_return_review.py has them).
    if action in ("approve_return", "reject_return"):
        return Expect("conflict")
    return Expect("ok", target or state)


def expected_allowed(kind: str, state: str, role: str, *, pending_extension: bool) -> set[str]:
    return {
        a
        for a in ACTIONS
        if expect(kind, state, role, a, pending_extension=pending_extension).outcome == "ok"
    }


# --- driving the real services -------------------------------------------------------------------

KINDS = [("event", None), ("hazard", "general"), ("hazard", "major"), ("letter", None)]

INPUTS: dict[str, dict[str, Any]] = {
    "dispatch": {"unit_code": "ZJ", "note": "派往住建"},
    "cancel": {"reason": "不属于受理范围"},
    "merge": {"note": "重复上报"},
    "return": {"reason": "不属于本单位职责"},
    "sign": {"note": "签收"},
    "suspend": {"reason": "等待产权单位配合"},
    "resume": {"note": "恢复整改"},
    "submit": {"note": "已整改"},
    "approve": {"note": "核查通过"},
    "reject": {"reason": "整改不到位"},
    "reopen": {"reason": "问题复发"},
    "request_extension": {"reason": "材料未到", "days": 3},
    "approve_extension": {"note": "同意延期"},
    "reject_extension": {"reason": "理由不充分"},
    "request_suspension": {"reason": "需要第三方配合"},
    "reject_suspension": {"reason": "可边施工边整改"},
    "withdraw": {"reason": "函件有误"},
    "follow_up": {"satisfaction": "satisfied", "note": "群众满意"},
    "rework": {"note": "回访不满意"},
    "request_return": {"reason": "经核实不属于本单位职责", "reason_code": "not_ours"},
    "approve_return": {"note": "同意退单"},
    "reject_return": {"reason": "属于本单位职责，请继续办理"},
    "redispatch": {"unit_code": "SW", "reason": "派错单位，改派水务"},
}
