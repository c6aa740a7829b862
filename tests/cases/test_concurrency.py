"""Two people acting on one case at once: exactly one wins, the other is told, nothing is lost."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func
from sqlmodel import select

from closeloop.cases import service as cases
from closeloop.db import new_session, transaction
from closeloop.errors import Conflict
from models.case import ActionInput, Case
from models.enums import CaseState
from models.history import CaseHistory
from tests.factories import NOW, case_in


def _history_count(engine, case_id: int) -> int:
    with new_session(engine) as s:
        return s.exec(
            select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == case_id)
        ).one()


def _dispatched(engine, org) -> tuple[int, int]:
    with transaction(engine) as s:
        case = case_in(s, org, CaseState.dispatched)
        return case.id, case.version


def test_many_threads_same_version_exactly_one_wins(engine, org):
    case_id, version = _dispatched(engine, org)
    before = _history_count(engine, case_id)
    threads = 8
    barrier = threading.Barrier(threads)
    plan = ["sign"] * threads

    def attempt(action: str) -> str:
        data = ActionInput(version=version, reason="不属于本单位" if action == "return" else None)
        barrier.wait()
        try:
            with transaction(engine) as s:
                cases.perform(
                    s, actor=org["h_zj"], case_id=case_id, action=action, data=data, now=NOW
                )
            return "won:" + action
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(attempt, plan))
    winners = [r for r in results if r.startswith("won")]
    assert len(winners) == 1, results
    assert results.count("conflict") == threads - 1
    assert _history_count(engine, case_id) == before + 1
    with new_session(engine) as s:
        case = s.get(Case, case_id)
        assert case.version == version + 1
        expected = "rectifying" if winners[0] == "won:sign" else "reported"
        assert case.state == expected


def test_loser_that_read_before_the_winner_committed_gets_409(engine, org):
    """The compare-and-swap itself: B loaded the case before A committed, and still loses."""
    case_id, version = _dispatched(engine, org)
    a_flushed = threading.Event()
    release_a = threading.Event()
    outcome: dict[str, object] = {}

    def a() -> None:
        with transaction(engine) as s:
            cases.perform(
                s, actor=org["h_zj"], case_id=case_id, action="sign", data=ActionInput(), now=NOW
            )
            a_flushed.set()
            release_a.wait(10)
        outcome["a"] = "committed"

    def b() -> None:
        a_flushed.wait(10)
        try:
            with transaction(engine) as s:
                # No version sent: B relies on the version it loads, which A is about to bump.
                cases.perform(
                    s,
                    actor=org["h_zj"],
                    case_id=case_id,
                    action="sign",
                    data=ActionInput(),
                    now=NOW,
                )
            outcome["b"] = "committed"
        except Conflict as exc:
            outcome["b"] = "conflict"
            outcome["b_detail"] = exc.detail

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    threading.Timer(0.5, release_a.set).start()
    ta.join(20)
    tb.join(20)
    assert outcome["a"] == "committed"
    assert outcome["b"] == "conflict", outcome
    with new_session(engine) as s:
        assert s.get(Case, case_id).state == "rectifying"
        signs = s.exec(
            select(func.count())
            .select_from(CaseHistory)
            .where(CaseHistory.case_id == case_id, CaseHistory.action == "sign")
        ).one()
        assert signs == 1


def test_a_transaction_that_read_the_case_before_another_committed_gets_409(engine, org):
    """B reads the case (on SQLite: a read snapshot, no lock), A acts and commits, then B acts
    with the version it read: B's first write takes the lock and its UPDATE … WHERE version
    matches nothing — a 409, not SQLITE_BUSY_SNAPSHOT and not a lost update."""
    case_id, version = _dispatched(engine, org)
    before = _history_count(engine, case_id)
    b = new_session(engine)
    try:
        assert cases.load_case(b, actor=org["h_zj"], case_id=case_id).version == version
        with transaction(engine) as a:
            cases.perform(
                a,
                actor=org["h_zj"],
                case_id=case_id,
                action="sign",
                data=ActionInput(version=version),
                now=NOW,
            )
        with pytest.raises(Conflict):
            cases.perform(
                b,
                actor=org["h_zj"],
                case_id=case_id,
                action="sign",
                data=ActionInput(version=version),
                now=NOW,
            )
        b.rollback()
    finally:
        b.close()
    assert _history_count(engine, case_id) == before + 1
    with new_session(engine) as s:
        assert s.get(Case, case_id).version == version + 1
