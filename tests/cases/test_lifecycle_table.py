"""The lifecycle table of DESIGN.md as a table-driven test: every action from every state,
allowed or refused, for every role.

The expectation below is written from DESIGN.md ("Who uses it", "Lifecycle") and the decisions
recorded for the core, NOT derived from closeloop.cases.lifecycle or closeloop.auth.policy: it is there to
catch the code disagreeing with the design. Each (kind, state, role) is one test; inside it every
action starts from the same freshly built case, inside a savepoint rolled back afterwards; the
mismatches are collected and reported together.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.cases import service as cases
from closeloop.errors import Conflict, DomainError, Forbidden, NotFound
from closeloop.letters import service as letters
from models.case import ActionInput, Case
from models.enums import CaseKind, CaseState, Grade, LetterType
from models.history import CaseHistory
from tests.factories import NOW, Org, act, case_in, evidence, new_case

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
}


def history_count(session: Session, case_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == case_id)
    ).one()


def last_history(session: Session, case_id: int) -> CaseHistory:
    row = session.exec(
        select(CaseHistory)
        .where(CaseHistory.case_id == case_id)
        .order_by(col(CaseHistory.seq).desc())
    ).first()
    assert row is not None
    return row


def letter_case_in(session: Session, org: Org, state: CaseState) -> Case:
    """A letter case (the 督办件 of a supervisor's 督办函) walked through the real services."""
    covered = case_in(session, org, CaseState.rectifying)
    assert covered.id is not None
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[covered.id],
        now=NOW,
        actor=org["sup"],
    )
    own = session.get(Case, letter.case_id)
    assert own is not None and letter.id is not None
    if state == CaseState.cancelled:
        letters.withdraw_letter(
            session, actor=org["sup"], letter_id=letter.id, reason="函件有误", now=NOW
        )
        return own
    if state == CaseState.dispatched:
        return own
    act(session, org, own, "sign", "h_zj")
    if state == CaseState.rectifying:
        return own
    if state == CaseState.suspended:
        return act(session, org, own, "suspend", "sup", reason="等待产权单位配合")
    ids = [evidence(session, org, own)]
    act(session, org, own, "submit", "h_zj", note="已整改", attachment_ids=ids)
    if state == CaseState.verifying:
        return own
    return act(session, org, own, "approve", "sup", note="同意销号")


def build(
    session: Session, org: Org, state: CaseState, kind: CaseKind, grade: Grade | None
) -> Case:
    if kind == CaseKind.letter:
        return letter_case_in(session, org, state)
    return case_in(session, org, state, kind=kind, grade=grade)


def case_with_pending_extension(
    session: Session, org: Org, state: CaseState, kind: CaseKind, grade: Grade | None
) -> Case:
    """A case in `state` with a pending extension request, made through the real services."""
    case = build(session, org, CaseState.rectifying, kind, grade)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    if state == CaseState.suspended:
        act(session, org, case, "suspend", "sup", reason="等待产权单位配合")
    elif state == CaseState.verifying:
        ids = [evidence(session, org, case)]
        act(session, org, case, "submit", "h_zj", note="已整改", attachment_ids=ids)
    return case


# States in which an extension request can be pending at all.
PENDING_STATES = {"rectifying", "suspended", "verifying"}


def run_one(
    session: Session,
    org: Org,
    case: Case,
    target: Case,
    *,
    kind: str,
    grade: str | None,
    role: str,
    action: str,
    pending: bool,
) -> list[str]:
    """Check allowed_actions, perform the action, compare both with the table."""
    assert case.id is not None
    state = str(case.state)
    data = dict(INPUTS[action])
    if action == "merge":
        data["target_case_id"] = target.id
    if action == "submit" and state not in ("closed", "cancelled"):
        data["attachment_ids"] = [evidence(session, org, case, by="sup")]
    user = org[ROLES[role]]
    who_where = f"{kind}{'/' + grade if grade else ''} {state} {role}({user.username})"
    where = f"{who_where} {action}"
    problems: list[str] = []

    allowed = expected_allowed(kind, state, role, pending_extension=pending)
    shown = set(cases.public_one(session, case, user, NOW).allowed_actions)
    if shown != allowed:
        problems.append(
            f"{who_where}: allowed_actions {sorted(shown)}, table says {sorted(allowed)}"
            f"{' (extension pending)' if pending else ''}"
        )

    want = expect(kind, state, role, action, pending_extension=pending)
    version0, count0 = case.version, history_count(session, case.id)
    try:
        result = cases.perform(
            session, actor=user, case_id=case.id, action=action, data=ActionInput(**data), now=NOW
        )
    except DomainError as e:
        got = {Forbidden: "forbidden", Conflict: "conflict"}.get(type(e), type(e).__name__)
        if got != want.outcome:
            problems.append(f"{where}: expected {want.outcome}, got {got} ({e.detail})")
        elif got == "conflict" and state not in sources(action, kind):
            # Refused for its state: the message names the state and what this caller may do.
            told = set(e.extra.get("allowed_actions", ()))
            if e.extra.get("state") != state or state not in e.detail:
                problems.append(f"{where}: 409 does not name the state: {e.detail}")
            if told != allowed:
                problems.append(
                    f"{where}: 409 lists {sorted(told)} as allowed, table says {sorted(allowed)}"
                )
            missing = [a for a in allowed if a not in e.detail]
            if missing:
                problems.append(f"{where}: 409 detail omits allowed {missing}: {e.detail}")
        count1 = history_count(session, case.id)  # autoflushes anything left dirty
        if (case.state, case.version, count1) != (state, version0, count0):
            problems.append(
                f"{where}: refused but changed: state {state}->{case.state}, "
                f"version {version0}->{case.version}, history {count0}->{count1}"
            )
        return problems
    except Exception as e:  # report it with the rest, not as one crash
        return [*problems, f"{where}: crashed with {type(e).__name__}: {e}"]

    if want.outcome != "ok":
        problems.append(f"{where}: expected {want.outcome}, but it was allowed -> {result.state}")
        return problems
    if result.state != want.to_state:
        problems.append(f"{where}: state {result.state}, table says {want.to_state}")
    count1 = history_count(session, case.id)
    if count1 != count0 + 1:
        problems.append(f"{where}: {count1 - count0} history rows appended, expected 1")
    else:
        row = last_history(session, case.id)
        if (row.action, row.from_state, row.to_state) != (action, state, want.to_state):
            problems.append(
                f"{where}: history says {row.action} {row.from_state}->{row.to_state}, "
                f"expected {action} {state}->{want.to_state}"
            )
    if result.version != version0 + 1:
        problems.append(f"{where}: version {version0}->{result.version}, expected +1")
    return problems


# A letter case is issued dispatched and can never be returned, so it is never `reported`.
COMBOS = [
    (kind, grade, state)
    for kind, grade in KINDS
    for state in STATES
    if not (kind == "letter" and state == "reported")
]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    ("kind", "grade", "state"),
    COMBOS,
    ids=[f"{k}-{g}-{s}" if g else f"{k}-{s}" for k, g, s in COMBOS],
)
def test_lifecycle_table(
    session: Session, org: Org, kind: str, grade: str | None, state: str, role: str
) -> None:
    kind_e, grade_e, state_e = CaseKind(kind), Grade(grade) if grade else None, CaseState(state)
    # Every action starts from the same freshly built case: it runs inside a savepoint that is
    # rolled back afterwards (rebuilding the case through the services for each of the 15
    # actions would triple the runtime on PostgreSQL and test nothing more).
    plain = build(session, org, state_e, kind_e, grade_e)
    # A merge target of the same kind (a letter case is never a duplicate: an event stands in).
    target = new_case(
        session, org, kind=CaseKind.event if kind == "letter" else kind_e, grade=grade_e
    )
    with_request = (
        case_with_pending_extension(session, org, state_e, kind_e, grade_e)
        if state in PENDING_STATES
        else None
    )
    assert plain.state == state and (with_request is None or with_request.state == state)
    problems: list[str] = []
    for action in ACTIONS:
        pending = with_request is not None and action in ("approve_extension", "reject_extension")
        case = with_request if pending and with_request is not None else plain
        savepoint = session.begin_nested()
        try:
            problems += run_one(
                session,
                org,
                case,
                target,
                kind=kind,
                grade=grade,
                role=role,
                action=action,
                pending=pending,
            )
        finally:
            if savepoint.is_active:
                savepoint.rollback()
    problems = list(dict.fromkeys(problems))  # an allowed_actions mismatch is said once
    assert not problems, f"{len(problems)} disagreement(s) with DESIGN.md:\n" + "\n".join(problems)


def test_table_covers_every_action_of_the_api() -> None:
    """The table above knows every action the code offers, and nothing else."""
    from models.enums import Action

    assert set(ACTIONS) == {a.value for a in Action}


@pytest.mark.parametrize("name", ["frobnicate", "return_case", "file", "RETURN", ""])
def test_unknown_action_is_404_and_changes_nothing(session: Session, org: Org, name: str) -> None:
    case = case_in(session, org, CaseState.rectifying)
    assert case.id is not None
    version0, count0 = case.version, history_count(session, case.id)
    with pytest.raises(NotFound) as e:
        cases.perform(
            session, actor=org["sup"], case_id=case.id, action=name, data=ActionInput(), now=NOW
        )
    assert e.value.status == 404
    assert "dispatch" in e.value.detail  # names the actions there are
    assert (case.state, case.version) == ("rectifying", version0)
    assert history_count(session, case.id) == count0


def test_unknown_case_is_404(session: Session, org: Org) -> None:
    with pytest.raises(NotFound):
        cases.perform(
            session,
            actor=org["sup"],
            case_id=999_999,
            action="approve",
            data=ActionInput(),
            now=NOW,
        )
