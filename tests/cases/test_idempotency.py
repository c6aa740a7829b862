"""closeloop/cases/idempotency.py through service.file_once: a key files once per user and 24
hours; the same key with another request is refused; two requests at once file one case."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from closeloop.cases import service as cases
from closeloop.db import new_session
from closeloop.errors import Invalid
from models.case import Case, CaseCreate
from models.idempotency import IdempotencyKey
from tests.factories import NOW

DATA = CaseCreate(kind="event", title="井盖缺失", category_code="0101", grid_code="G1")


def count(session) -> int:
    return int(session.exec(select(func.count()).select_from(Case)).one())


def file(session, org, key, data=DATA, now=NOW, user="rep1"):
    return cases.file_once(session, actor=org[user], data=data, now=now, key=key)


def test_the_same_key_answers_the_first_response_and_files_nothing(session, org):
    first = file(session, org, "k-1")
    session.commit()
    again = file(session, org, "k-1", now=NOW + timedelta(hours=23))
    session.commit()
    assert (again.status, again.body, again.case_id) == (first.status, first.body, first.case_id)
    assert again.replayed and not first.replayed
    assert first.status == 201 and first.body["id"] == first.case_id
    assert count(session) == 1


def test_without_a_key_every_request_files(session, org):
    file(session, org, None)
    file(session, org, None)
    assert count(session) == 2


def test_keys_are_per_user(session, org):
    mine = file(session, org, "shared")
    session.commit()
    theirs = file(session, org, "shared", user="disp")
    assert mine.case_id != theirs.case_id and count(session) == 2


def test_the_same_key_with_another_body_is_refused(session, org):
    file(session, org, "k-2")
    session.commit()
    other = DATA.model_copy(update={"title": "另一件事"})
    with pytest.raises(Invalid) as e:
        file(session, org, "k-2", data=other)
    assert "another request" in e.value.msg.en and "Idempotency-Key" in e.value.msg.zh
    session.rollback()
    assert count(session) == 1


@pytest.mark.parametrize("key", ["", " ", "a b", "键", "x" * 201, "tab\there"])
def test_a_bad_key_is_refused(session, org, key):
    with pytest.raises(Invalid) as e:
        file(session, org, key)
    assert "Idempotency-Key" in e.value.msg.en
    session.rollback()
    assert count(session) == 0


def test_after_24_hours_the_key_is_new_and_old_keys_are_purged(session, org):
    first = file(session, org, "k-3")
    file(session, org, "other-old")
    session.commit()
    later = file(session, org, "k-3", now=NOW + timedelta(hours=24, seconds=1))
    session.commit()
    assert later.case_id != first.case_id and not later.replayed
    keys = session.exec(select(IdempotencyKey)).all()
    assert [(k.key, k.case_id) for k in keys] == [("k-3", later.case_id)]  # the old row replaced
    # Within the new 24 hours it replays the second filing.
    assert file(session, org, "k-3", now=NOW + timedelta(hours=30)).case_id == later.case_id


def test_a_failed_filing_keeps_no_key(session, org):
    bad = DATA.model_copy(update={"grid_code": "NOPE"})
    with pytest.raises(Invalid):
        file(session, org, "k-4", data=bad)
    session.rollback()
    assert file(session, org, "k-4").status == 201


def test_two_requests_with_one_key_at_once_file_one_case(engine, org):
    """The first holds its transaction open; the second, in another thread, must wait on the
    key (the primary key insert on PostgreSQL, the writer lock on SQLite), then answer what the
    first answered once it commits."""
    first_session = new_session(engine)
    first = file(first_session, org, "race")
    result: dict[str, object] = {}

    def second() -> None:
        with new_session(engine) as s:
            try:
                result["filed"] = file(s, org, "race")
                s.commit()
            except Exception as exc:  # reported below
                result["error"] = exc
                s.rollback()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.8)
    assert thread.is_alive(), "the second request did not wait for the first"
    first_session.commit()
    first_session.close()
    thread.join(timeout=20)
    assert "error" not in result, result.get("error")
    filed = result["filed"]
    assert filed.replayed and filed.case_id == first.case_id and filed.body == first.body
    with new_session(engine) as s:
        assert count(s) == 1


def test_when_the_first_rolls_back_the_waiting_one_files(engine, org):
    first_session = new_session(engine)
    file(first_session, org, "race-2")
    result: dict[str, object] = {}

    def second() -> None:
        with new_session(engine) as s:
            result["filed"] = file(s, org, "race-2")
            s.commit()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    first_session.rollback()
    first_session.close()
    thread.join(timeout=20)
    assert not result["filed"].replayed
    with new_session(engine) as s:
        assert count(s) == 1
