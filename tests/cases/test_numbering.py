"""Letter numbers (罗应急督〔2025〕1号): per issuer, type and Shanghai year, without gaps, even when
issuers race or roll back."""

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from closeloop.db import new_session
from closeloop.letters import service as letters
from models.case import Case
from models.enums import CaseKind, LetterType
from models.history import CaseHistory
from models.letter import Letter
from tests.factories import Org
from tests.letters.issuing import LATER, letter_about, open_hazards


def test_numbers_per_type_and_year(session: Session, org: Org) -> None:
    cases = open_hazards(session, org, 1)
    numbers = [
        letter_about(session, org, cases, kind).number
        for kind in (
            LetterType.supervision,
            LetterType.reminder,
            LetterType.supervision,
            LetterType.warning,
        )
    ]
    assert numbers == [
        "罗应急督〔2025〕1号",
        "罗应急提〔2025〕1号",
        "罗应急督〔2025〕2号",
        "罗应急警〔2025〕1号",
    ]
    assert re.fullmatch(r"罗应急督〔\d{4}〕\d+号", numbers[0])


def test_year_rolls_over_at_shanghai_midnight(session: Session, org: Org) -> None:
    cases = open_hazards(session, org, 1)
    eve = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 Shanghai, still 2025
    new_year = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 Shanghai, 1 January 2026
    first = letter_about(session, org, cases, now=LATER)
    second = letter_about(session, org, cases, now=eve)
    third = letter_about(session, org, cases, now=new_year)
    assert [first.number, second.number] == ["罗应急督〔2025〕1号", "罗应急督〔2025〕2号"]
    assert (third.number, third.year, third.serial) == ("罗应急督〔2026〕1号", 2026, 1)
    own = session.get(Case, third.case_id)
    assert own is not None and own.number == "DB2026000001"


def test_rolled_back_letter_returns_its_number(engine: Engine, org: Org) -> None:
    with new_session(engine) as s:
        ids = [c.id for c in open_hazards(s, org, 1)]
        s.commit()
    for outcome in ("commit", "rollback", "rollback", "commit"):
        with new_session(engine) as s:
            letters.issue_letter(
                s,
                letter_type=LetterType.supervision,
                unit_code="ZJ",
                case_ids=ids,
                now=LATER,
                actor=org["sup"],
            )
            s.commit() if outcome == "commit" else s.rollback()
    with new_session(engine) as s:
        rows = s.exec(select(Letter).order_by(col(Letter.serial))).all()
        assert [r.number for r in rows] == ["罗应急督〔2025〕1号", "罗应急督〔2025〕2号"]
        assert [c.number for c in s.exec(select(Case).where(Case.kind == CaseKind.letter))] == [
            "DB2025000001",
            "DB2025000002",
        ]


@pytest.mark.parametrize("roll_back_some", [False, True], ids=["all-commit", "half-rollback"])
def test_concurrent_issuers_get_serials_without_gaps(
    engine: Engine, org: Org, roll_back_some: bool
) -> None:
    threads_n = 8
    with new_session(engine) as s:
        ids = [c.id for c in open_hazards(s, org, 2)]
        s.commit()
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def issue(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with new_session(engine) as s:
                letters.issue_letter(
                    s,
                    letter_type=LetterType.supervision,
                    unit_code="ZJ",
                    case_ids=ids,
                    now=LATER,
                    actor=None,
                )
                s.rollback() if roll_back_some and i % 2 else s.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    committed = threads_n // 2 if roll_back_some else threads_n
    with new_session(engine) as s:
        serials = sorted(s.exec(select(Letter.serial)).all())
        assert serials == list(range(1, committed + 1))
        numbers = sorted(s.exec(select(Case.number).where(Case.kind == CaseKind.letter)).all())
        assert numbers == [f"DB2025{i:06d}" for i in range(1, committed + 1)]
        # Every covered case got one "letter" entry per committed letter, with unique seqs.
        for cid in ids:
            entries = s.exec(
                select(CaseHistory).where(
                    CaseHistory.case_id == cid, CaseHistory.action == "letter"
                )
            ).all()
            assert len(entries) == committed
