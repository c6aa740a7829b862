"""history.append_many writes what `append` writes, one entry per case, seqs continuing."""

from sqlmodel import Session, col, select

from closeloop.auth.policy import SYSTEM
from closeloop.cases import history
from models.history import CaseHistory
from tests.factories import NOW, Org, new_case


def test_append_many_continues_each_case_and_matches_append(session: Session, org: Org) -> None:
    a, b = new_case(session, org), new_case(session, org)
    history.append(
        session, case=a, action="note", actor=SYSTEM, at=NOW, from_state="x", to_state="y"
    )  # pending, not flushed: append_many must count it
    data = {"letter_id": 7}
    assert (
        history.append_many(session, cases=[a, b], action="letter", actor=SYSTEM, at=NOW, data=data)
        == 2
    )
    history.append(
        session,
        case=a,
        action="letter",
        actor=SYSTEM,
        at=NOW,
        from_state=a.state,
        to_state=a.state,
        data=data,
    )
    session.flush()

    def entries(case_id: int) -> list[CaseHistory]:
        stmt = select(CaseHistory).where(CaseHistory.case_id == case_id)
        return list(session.exec(stmt.order_by(col(CaseHistory.seq))))

    seqs_a = [(e.seq, e.action) for e in entries(a.id or 0)]
    assert seqs_a[-3:] == [
        (seqs_a[-3][0], "note"),
        (seqs_a[-3][0] + 1, "letter"),
        (seqs_a[-3][0] + 2, "letter"),
    ]
    batch, single = entries(a.id or 0)[-2:]
    fields = (
        "action",
        "from_state",
        "to_state",
        "actor_id",
        "actor",
        "at",
        "note",
        "data",
        "due_at",
        "dispatched_at",
        "closed_at",
        "listed",
        "unit_code",
    )
    assert {f: getattr(batch, f) for f in fields} == {f: getattr(single, f) for f in fields}
    last_b = entries(b.id or 0)[-1]
    assert (last_b.action, last_b.data, last_b.seq) == ("letter", data, len(entries(b.id or 0)))
    assert history.append_many(session, cases=[], action="letter", actor=SYSTEM, at=NOW) == 0


def test_append_after_append_many_in_one_transaction_continues_the_seq(
    session: Session, org: Org
) -> None:
    """`append` remembers a case's last entry within a transaction; the entries `append_many`
    writes in the same transaction come after it, and the next `append` follows them."""
    case = new_case(session, org)
    session.commit()
    for _ in range(2):
        history.append(
            session, case=case, action="note", actor=SYSTEM, at=NOW, from_state="x", to_state="y"
        )
        history.append_many(session, cases=[case], action="letter", actor=SYSTEM, at=NOW)
    history.append(
        session, case=case, action="note", actor=SYSTEM, at=NOW, from_state="x", to_state="y"
    )
    session.commit()
    rows = session.exec(
        select(CaseHistory).where(CaseHistory.case_id == case.id).order_by(col(CaseHistory.seq))
    ).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.action for r in rows][-5:] == ["note", "letter", "note", "letter", "note"]
