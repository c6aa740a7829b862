"""The lifecycle table of DESIGN.md as a table-driven test: every action from every state,
allowed or refused, for every role.

The expectation below is written from DESIGN.md ("Who uses it", "Lifecycle") and the decisions
recorded for the core, NOT derived from closeloop.cases.lifecycle or closeloop.auth.policy: it is there to
catch the code disagreeing with the design. Each (kind, state, role) is one test; inside it every
action starts from the same freshly built case, inside a savepoint rolled back afterwards; the
mismatches are collected and reported together.
"""

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.cases import service as cases
from closeloop.errors import Conflict, DomainError, Forbidden, NotFound
from closeloop.letters import service as letters
from models.case import ActionInput, Case
from models.enums import CaseKind, CaseState, Grade, LetterType
from models.history import CaseHistory
from tests.cases.lifecycle_expected import (
    ACTIONS,
    INPUTS,
    KINDS,
    ROLES,
    STATES,
    expect,
    expected_allowed,
    sources,
)
from tests.factories import NOW, Org, act, case_in, evidence, is_major, new_case, recheck_pass


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
        if is_major(case):  # rechecked (复查), as case_in leaves a verifying major hazard
            recheck_pass(session, org, case)
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
            # Each allowed action by its name (issue 12 point 10: no action codes in messages).
            missing = [a for a in allowed if labels.ACTION[a].zh not in e.detail]
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
