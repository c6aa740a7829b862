"""挂牌督办 by the ladder: a unit's listings are one batch of the version compare-and-swap; a case
whose row changed since the run read it makes the batch fail as the ORM's flush would, and each
case is then read again and listed on its own. Both paths leave the same rows and entries."""

from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import col, select

from closeloop.calendar.service import load_calendar
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.escalation.claims import UnitRun, lock_cases
from closeloop.escalation.policy import load_policy
from closeloop.escalation.sweep import SweepContext, load_classes
from closeloop.letters import service as letters
from models.case import Case
from models.enums import LetterType
from models.history import CaseHistory
from tests.escalation.escalation_helpers import late_case, sh

SAME = ("action", "from_state", "to_state", "actor", "actor_id", "at", "note", "data", "listed")
SAME += ("unit_code", "due_at", "dispatched_at", "closed_at")


def _entries(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    with new_session(engine) as s:
        rows = s.exec(
            select(CaseHistory)
            .where(CaseHistory.case_id == case_id, CaseHistory.action == "list")
            .order_by(col(CaseHistory.seq))
        )
        return [{k: getattr(e, k) for k in SAME} for e in rows]


def test_a_case_changed_since_it_was_read_is_listed_on_its_own(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ids = [late_case(s, org, due="2025-09-30").id or 0 for _ in range(4)]
        before = {c.id: c.version for c in s.exec(select(Case).where(col(Case.id).in_(ids)))}
    batch, changed, listed_meanwhile = ids[:2], ids[2], ids[3]
    now = sh("2025-10-21")
    with transaction(engine) as s:
        settings = get_settings()
        ctx = SweepContext(now, load_policy(None), load_calendar(s), settings, load_classes(s))
        run = UnitRun(s, ctx)
        run.cases.update({c.id or 0: c for c in lock_cases(s, ids)})
        letter = letters.issue_letter(
            s,
            letter_type=LetterType.warning,
            unit_code="ZJ",
            case_ids=ids,
            now=now,
            actor=None,
            settings=settings,
            locked=run.cases,
        )
        run.list_cases([run.cases[i] for i in batch], letter)
        assert run.counts.listed == 2
        # Two rows change behind the session's back (another writer, as far as it knows): one
        # is only touched, the other is listed meanwhile.
        table = Case.__table__  # type: ignore[attr-defined]
        bump = table.c.version + 1
        s.execute(update(table).where(table.c.id == changed).values(version=bump))
        s.execute(
            update(table).where(table.c.id == listed_meanwhile).values(listed=True, version=bump)
        )
        run.list_cases([run.cases[changed], run.cases[listed_meanwhile]], letter)
        assert run.counts.listed == 3  # the case listed meanwhile is not ours to count
    with new_session(engine) as s:
        rows = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_(ids)))}
    assert all(rows[i].listed for i in ids)
    assert {i: rows[i].version - before[i] for i in ids} == {
        batch[0]: 1,
        batch[1]: 1,
        changed: 2,  # the other writer's, then the listing's
        listed_meanwhile: 1,  # the other writer's only
    }
    assert rows[batch[0]].updated_at == rows[changed].updated_at == now
    # One entry per case listed by the run, the same whichever path wrote it.
    entries = {i: _entries(engine, i) for i in ids}
    assert entries[listed_meanwhile] == []
    assert len(entries[batch[0]]) == len(entries[changed]) == 1
    assert entries[batch[0]] == entries[batch[1]] == entries[changed]
    assert entries[changed][0]["listed"] is True
    assert entries[changed][0]["data"] == {
        "letter_id": letter.id,
        "number": letter.number,
        "level": "warning",
    }
