"""The outbox is written with its cause: fan-out, idempotent keys, one transaction with the action."""

import threading

import pytest
from sqlalchemy import func, inspect
from sqlmodel import col, select

from closeloop.db import new_session, transaction
from closeloop.errors import Conflict
from models.case import Case
from models.enums import CaseKind, CaseState, Channel, DeliveryStatus, Role
from models.org import Unit
from models.outbox import OutboxMessage
from models.user import User
from notifications import outbox
from tests.factories import NOW, act, case_in, evidence, new_case

ZJ_MAIL = "zj@luohu.example"
ZJ_HEAD = "head@luohu.example"
ZJ_HOOK = "http://127.0.0.1:9/robot/send?key=zj"


def _contacts(engine) -> None:
    with transaction(engine) as s:
        unit = s.get(Unit, "ZJ")
        unit.email, unit.head_email, unit.webhook_url = ZJ_MAIL, ZJ_HEAD, ZJ_HOOK


def _rows(engine, *where) -> list[OutboxMessage]:
    with new_session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(*where).order_by(col(OutboxMessage.id))))


def _notify_zj(session, key: str = "k", to_head: bool = False) -> list[OutboxMessage]:
    return outbox.notify_unit(
        session,
        unit_code="ZJ",
        event="test",
        subject="主题 / subject",
        body="正文 / body",
        now=NOW,
        key=key,
        case_id=None,
        payload={"x": 1},
        to_head=to_head,
    )


def test_notify_unit_fans_out_to_email_webhook_and_each_handler(engine, org):
    _contacts(engine)
    with transaction(engine) as s:
        s.add(
            User(
                username="h_zj2",
                display_name="二号",
                role=Role.handler,
                unit_code="ZJ",
                password_hash="x",
                created_at=NOW,
            )
        )
        s.add(
            User(
                username="h_zj_off",
                display_name="离职",
                role=Role.handler,
                unit_code="ZJ",
                password_hash="x",
                created_at=NOW,
                active=False,
            )
        )
    with transaction(engine) as s:
        added = _notify_zj(s)
    by_channel = {(m.channel, m.recipient) for m in added}
    h_zj, h_zj2 = str(org["h_zj"].id), None
    with new_session(engine) as s:
        h_zj2 = str(s.exec(select(User.id).where(User.username == "h_zj2")).one())
    assert by_channel == {
        (Channel.email, ZJ_MAIL),
        (Channel.webhook, ZJ_HOOK),
        (Channel.inapp, h_zj),
        (Channel.inapp, h_zj2),
    }
    rows = _rows(engine)
    assert {r.key for r in rows} == {f"k:{c}:{r}" for c, r in by_channel}
    for r in rows:
        assert r.next_attempt_at == NOW and r.created_at == NOW and r.attempts == 0
        assert r.payload == {"unit_code": "ZJ", "x": 1}
        if r.channel == Channel.inapp:
            # In-app messages are delivered by being stored.
            assert r.status == DeliveryStatus.sent and r.sent_at == NOW and r.user_id
        else:
            assert r.status == DeliveryStatus.pending and r.sent_at is None


def test_to_head_adds_the_heads_email(engine, org):
    _contacts(engine)
    with transaction(engine) as s:
        added = _notify_zj(s, to_head=True)
    emails = sorted(m.recipient for m in added if m.channel == Channel.email)
    assert emails == sorted([ZJ_MAIL, ZJ_HEAD])


def test_same_key_twice_adds_nothing_the_second_time(engine, org):
    _contacts(engine)
    with transaction(engine) as s:
        first = _notify_zj(s)
        assert _notify_zj(s) == []  # same transaction
    with transaction(engine) as s:
        assert _notify_zj(s) == []  # a later re-run
        assert len(_notify_zj(s, key="other")) == len(first)
    assert len(_rows(engine)) == 2 * len(first)


def test_concurrent_writers_of_one_key_leave_one_row_and_the_loser_carries_on(engine, org):
    """The unique key decides a race the existence check cannot see: the loser's savepoint is
    rolled back and the rest of its transaction commits."""
    _contacts(engine)
    a_flushed, release_a = threading.Event(), threading.Event()
    result: dict[str, object] = {}

    def writer_a() -> None:
        with transaction(engine) as s:
            result["a"] = len(_notify_zj(s, key="race"))
            a_flushed.set()
            release_a.wait(10)

    def writer_b() -> None:
        a_flushed.wait(10)
        with transaction(engine) as s:
            result["b"] = len(_notify_zj(s, key="race"))
            result["b_other"] = len(_notify_zj(s, key="after-the-race"))

    ta, tb = threading.Thread(target=writer_a), threading.Thread(target=writer_b)
    ta.start(), tb.start()
    a_flushed.wait(10)
    tb.join(0.5)  # B is now blocked behind A (SQLite: the write lock; PostgreSQL: the key)
    release_a.set()
    ta.join(20), tb.join(20)
    assert result["a"] == 3 and result["b"] == 0 and result["b_other"] == 3
    assert len(_rows(engine, col(OutboxMessage.key).startswith("race:"))) == 3
    assert len(_rows(engine, col(OutboxMessage.key).startswith("after-the-race:"))) == 3


def test_long_recipient_keeps_a_unique_key_within_the_column(session, org):
    long_url = "https://oapi.dingtalk.com/robot/send?access_token=" + "a" * 300
    unit = session.get(Unit, "ZJ")
    unit.webhook_url = long_url[:500]
    added = _notify_zj(session, key="long")
    hook = next(m for m in added if m.channel == Channel.webhook)
    assert len(hook.key) <= 200 and hook.recipient == long_url[:500]
    assert _notify_zj(session, key="long") == []


def test_notify_region_role_reaches_those_whose_jurisdiction_covers_the_place(session, org):
    disp_mail = session.get(User, org["disp"].id)
    disp_mail.email = "disp@luohu.example"
    added = outbox.notify_region_role(
        session,
        region_path="/D1/S1/C1/G1/",
        roles=(Role.dispatcher, Role.supervisor),
        event="submitted",
        subject="s",
        body="b",
        now=NOW,
        key="r",
    )
    got = {(m.channel, m.recipient) for m in added}
    assert got == {
        (Channel.inapp, str(org["disp"].id)),
        (Channel.email, "disp@luohu.example"),
        (Channel.inapp, str(org["sup"].id)),
    }  # not disp_s2 or sup_s2 (street S2), nor the reporter
    s2 = outbox.notify_region_role(
        session,
        region_path="/D1/S2/C2/G3/",
        roles=(Role.supervisor,),
        event="submitted",
        subject="s",
        body="b",
        now=NOW,
        key="r2",
    )
    assert {m.user_id for m in s2} == {org["sup"].id, org["sup_s2"].id}


def test_notify_users_in_app_and_email_where_set_skipping_inactive(session, org):
    rep1 = session.get(User, org["rep1"].id)
    rep1.email = "rep1@luohu.example"
    session.get(User, org["rep3"].id).active = False
    added = outbox.notify_users(
        session,
        user_ids=[org["rep1"].id, org["rep3"].id],
        event="closed",
        subject="s",
        body="b",
        now=NOW,
        key="u",
    )
    assert {(m.channel, m.recipient) for m in added} == {
        (Channel.inapp, str(org["rep1"].id)),
        (Channel.email, "rep1@luohu.example"),
    }
    assert (
        outbox.notify_users(
            session, user_ids=[], event="x", subject="s", body="b", now=NOW, key="none"
        )
        == []
    )


def test_case_actions_write_the_notices_a_bureau_expects(session, org):
    unit = session.get(Unit, "ZJ")
    unit.email = ZJ_MAIL
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    dispatched = session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
    key = f"case:{case.id}:v{case.version}:dispatch"
    assert {m.key for m in dispatched} == {
        f"{key}:email:{ZJ_MAIL}",
        f"{key}:inapp:{org['h_zj'].id}",
    }
    assert all("新案件待签收" in m.subject and case.number in m.body for m in dispatched)
    assert dispatched[0].payload["case_number"] == case.number

    def recipients(action: str) -> set[int | None]:
        rows = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.key).startswith(f"case:{case.id}:v{case.version}:{action}:"),
                OutboxMessage.channel == Channel.inapp,
            )
        ).all()
        return {m.user_id for m in rows}

    act(session, org, case, "sign", "h_zj")
    assert recipients("sign") == set()  # nobody needs to hear of a signature
    act(session, org, case, "submit", "h_zj", note="已整改")
    assert recipients("submit") == {org["disp"].id, org["sup"].id}  # verifiers of G1's event
    act(session, org, case, "reject", "disp", reason="未清理干净")
    assert recipients("reject") == {org["h_zj"].id}
    act(session, org, case, "submit", "h_zj", note="已整改")
    act(session, org, case, "approve", "disp", note="核查通过")
    assert recipients("approve") == {org["h_zj"].id, org["rep1"].id}  # the unit and the reporter


def test_hazard_submission_goes_to_supervisors_only_and_return_to_dispatchers(session, org):
    hazard = case_in(session, org, CaseState.rectifying, kind=CaseKind.hazard)
    ids = [evidence(session, org, hazard)]
    act(session, org, hazard, "submit", "h_zj", attachment_ids=ids)
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.key).startswith(f"case:{hazard.id}:v{hazard.version}:submit:")
        )
    ).all()
    assert {m.user_id for m in rows} == {org["sup"].id}
    event = case_in(session, org, CaseState.dispatched)
    act(session, org, event, "return", "h_zj", reason="不属于本单位")
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.key).startswith(f"case:{event.id}:v{event.version}:return:")
        )
    ).all()
    assert {m.user_id for m in rows} == {org["disp"].id}
    assert "退单" in rows[0].subject and "不属于本单位" in rows[0].body


def _count(engine) -> int:
    with new_session(engine) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_action_and_its_outbox_rows_commit_or_roll_back_together(engine, org):
    with transaction(engine) as s:
        case_id = new_case(s, org).id
    with pytest.raises(RuntimeError), transaction(engine) as s:
        act(s, org, _load(s, case_id), "dispatch", "disp", unit_code="ZJ")
        assert _count_in(s) > 0  # written, in this transaction
        raise RuntimeError("the request failed after the action")
    assert _count(engine) == 0  # rolled back together with the action
    with transaction(engine) as s:
        case = act(s, org, _load(s, case_id), "dispatch", "disp", unit_code="ZJ")
    assert _count(engine) == 1 and case.state == "dispatched"


def test_a_stale_version_writes_no_outbox_row(engine, org):
    with transaction(engine) as s:
        case = new_case(s, org)
        case_id, stale = case.id, case.version
        act(s, org, case, "dispatch", "disp", unit_code="ZJ")
    before = _count(engine)
    with pytest.raises(Conflict), transaction(engine) as s:
        act(s, org, _load(s, case_id), "return", "h_zj", reason="x", version=stale)
    with new_session(engine) as b:  # B read the case, then A acted; B's write loses the race
        loaded = _load(b, case_id)
        b.commit()
        with transaction(engine) as a:
            act(a, org, _load(a, case_id), "sign", "h_zj")
        with pytest.raises(Conflict):
            act(b, org, loaded, "return", "h_zj", reason="不属于本单位")
        b.rollback()
    assert _count(engine) == before
    assert not _rows(engine, col(OutboxMessage.key).contains(":return:"))


def _load(session, case_id: int) -> Case:
    return session.get(Case, case_id)


def _count_in(session) -> int:
    return session.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_a_fan_out_adds_only_the_recipients_whose_key_is_new_in_the_targets_order(engine, org):
    """One INSERT … ON CONFLICT DO NOTHING for the whole fan-out: the existing keys are skipped,
    the rest come back in the order of the targets."""
    _contacts(engine)
    with transaction(engine) as s:
        first = _notify_zj(s, key="part")
        assert [(m.channel, m.recipient) for m in first] == [
            (Channel.email, ZJ_MAIL),
            (Channel.webhook, ZJ_HOOK),
            (Channel.inapp, str(org["h_zj"].id)),
        ]
        assert all(m.id is not None for m in first)
    with transaction(engine) as s:
        again = _notify_zj(s, key="part", to_head=True)  # only the head's email is new
        assert [(m.channel, m.recipient) for m in again] == [(Channel.email, ZJ_HEAD)]
    assert len(_rows(engine, col(OutboxMessage.key).startswith("part:"))) == 4


def test_the_messages_added_are_the_sessions_own_and_hold_their_rows_exactly(engine, org):
    """The fan-out writes through Core and hands the messages to the session: each is persistent,
    fully loaded (no read on access), equal to its row as read back, and a change to it is
    written at the next flush like any loaded row's."""
    _contacts(engine)
    columns = [c.key for c in OutboxMessage.__table__.columns]
    with transaction(engine) as s:
        added = _notify_zj(s, key="own")
        assert added
        for m in added:
            state = inspect(m)
            assert state.persistent and not state.unloaded and not state.modified
            assert s.get(OutboxMessage, m.id) is m
        mine = {m.id: {c: getattr(m, c) for c in columns} for m in added}
        added[0].last_error = "changed"
    stored = {r.id: {c: getattr(r, c) for c in columns} for r in _rows(engine)}
    assert stored[added[0].id]["last_error"] == "changed"
    mine[added[0].id]["last_error"] = "changed"
    assert stored == mine


def test_messages_of_a_rolled_back_savepoint_leave_the_session_as_a_flushs_would(engine, org):
    """As the flush's own inserts: a rollback (of a savepoint too) expunges the messages it
    wrote, so the session holds no object of a row that is gone."""
    _contacts(engine)
    with transaction(engine) as s:
        kept = _notify_zj(s, key="kept")
        savepoint = s.begin_nested()
        gone = _notify_zj(s, key="gone")
        assert gone and all(inspect(m).persistent for m in gone)
        savepoint.rollback()
        assert all(inspect(m).transient for m in gone)
        assert all(inspect(m).persistent for m in kept)
    keys = {m.key for m in _rows(engine)}
    assert {m.key for m in kept} <= keys and not {m.key for m in gone} & keys
