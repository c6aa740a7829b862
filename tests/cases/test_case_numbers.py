"""Case numbers drawn a block at a time (an import's batch): in counter order, skipping numbers
already taken, and never twice even while others file and import at once."""

import threading

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from closeloop.cases import numbering
from closeloop.db import new_session
from models.case import Case
from models.enums import CaseKind
from tests.factories import Org, new_case


def test_a_block_skips_taken_and_avoided_numbers(session: Session, org: Org) -> None:
    first = numbering.case_numbers(session, CaseKind.event, 2025, 3)
    assert first == ["SJ2025000001", "SJ2025000002", "SJ2025000003"]
    taken = new_case(session, org)  # draws SJ2025000004
    assert taken.number == "SJ2025000004"
    taken.number = "SJ2025000006"  # as an imported ledger's own number would be
    session.flush()
    got = numbering.case_numbers(session, CaseKind.event, 2025, 4, avoid={"SJ2025000007"})
    assert got == ["SJ2025000005", "SJ2025000008", "SJ2025000009", "SJ2025000010"]
    assert numbering.next_case_number(session, CaseKind.hazard, 2025) == "YH2025000001"
    assert numbering.next_case_number(session, CaseKind.event, 2025) == "SJ2025000011"


def test_blocks_and_single_draws_at_once_never_share_a_number(engine: Engine) -> None:
    threads_n, rounds = 6, 3
    barrier = threading.Barrier(threads_n)
    drawn: list[list[str]] = []
    errors: list[BaseException] = []

    def draw(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                with new_session(engine) as s:
                    if i % 2:
                        got = numbering.case_numbers(s, CaseKind.event, 2025, 40)
                    else:
                        got = [numbering.next_case_number(s, CaseKind.event, 2025)]
                    s.commit()
                drawn.append(got)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    numbers = [n for block in drawn for n in block]
    total = 3 * rounds * 40 + 3 * rounds
    assert sorted(numbers) == [f"SJ2025{i:06d}" for i in range(1, total + 1)]
    for block in drawn:  # a block is consecutive (nothing was taken)
        values = [int(n[-6:]) for n in block]
        assert values == list(range(values[0], values[0] + len(values)))
    with new_session(engine) as s:
        assert s.exec(select(Case.id)).first() is None


def test_taken_finds_what_reading_every_case_finds(session: Session, org: Org) -> None:
    cases = [new_case(session, org) for _ in range(3)]
    cases[1].number = "LEDGER-7"  # an imported ledger's own number
    session.flush()
    every = {c.number: c.id for c in session.exec(select(Case)).all()}
    asked = ["LEDGER-7", cases[0].number, "SJ2025999999", "LEDGER-7", "", "编号-1"]
    assert numbering.taken(session, asked) == {n: every[n] for n in asked if n in every}
    assert numbering.taken(session, []) == {}


def test_taken_probes_the_index_at_any_table_size(session: Session, org: Org) -> None:
    """PostgreSQL prepares a statement after five runs and may keep the plan made while the
    table was small: the look-up must stay an index probe, never a scan of every case."""
    if session.get_bind().dialect.name != "postgresql":
        return
    block = [f"SJ2025{i:06d}" for i in range(1, 1001)]
    scans = text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'case'")
    before = session.execute(scans).scalar_one()
    for round_ in range(12):
        new_case(session, org)
        assert len(numbering.taken(session, block)) == round_ + 1
    assert session.execute(scans).scalar_one() == before
