"""Job leases on both databases: one holder at a time, expiry hands over, races have one winner."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from closeloop.db import new_session, transaction
from workflows import lease

T0 = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def _acquire(engine: Engine, holder: str, now: datetime, name: str = "escalation") -> bool:
    with transaction(engine) as s:
        return lease.acquire(s, name=name, holder=holder, now=now, ttl=TTL)


def _holder(engine: Engine, now: datetime, name: str = "escalation") -> str | None:
    with new_session(engine) as s:
        return lease.holder_of(s, name=name, now=now)


def test_two_holders_only_one_gets_it(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    assert not _acquire(engine, "b", T0 + timedelta(seconds=1))
    assert _holder(engine, T0) == "a"
    # The holder may take it again (extends it); another job's lease is independent.
    assert _acquire(engine, "a", T0 + timedelta(minutes=5))
    assert not _acquire(engine, "b", T0 + timedelta(minutes=14))  # a's runs to 00:15
    assert _acquire(engine, "b", T0, name="delivery")


def test_expiry_hands_it_over_and_the_old_holder_knows(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    later = T0 + TTL  # a's lease ends exactly now
    assert _acquire(engine, "b", later)
    assert _holder(engine, later) == "b"
    with transaction(engine) as s:
        assert not lease.renew(s, name="escalation", holder="a", now=later, ttl=TTL)
        # a giving it back does not touch b's lease
        lease.release(s, name="escalation", holder="a", now=later)
    assert _holder(engine, later) == "b"
    with transaction(engine) as s:
        assert lease.renew(s, name="escalation", holder="b", now=later, ttl=TTL)


def test_release_frees_it_or_keeps_it_until_a_time(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    with transaction(engine) as s:
        lease.release(s, name="escalation", holder="a", now=T0)
    assert _holder(engine, T0) is None
    assert _acquire(engine, "b", T0)
    keep = T0 + timedelta(seconds=30)
    with transaction(engine) as s:
        lease.release(s, name="escalation", holder="b", now=T0, keep_until=keep)
    assert not _acquire(engine, "a", T0 + timedelta(seconds=29))  # the same slot: skipped
    assert _acquire(engine, "a", keep)


def test_a_race_has_exactly_one_winner(engine: Engine) -> None:
    # An expired lease and eight holders taking it at the same instant, each in its own
    # transaction on its own connection.
    assert _acquire(engine, "old", T0 - 2 * TTL)
    barrier = threading.Barrier(8)
    won: list[str] = []
    errors: list[BaseException] = []

    def contender(holder: str) -> None:
        try:
            barrier.wait()
            if _acquire(engine, holder, T0):
                won.append(holder)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=contender, args=(f"h{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1
    assert _holder(engine, T0) == won[0]
