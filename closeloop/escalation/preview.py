"""The dry run: what an escalation run at `now` would fire, read-only.

It writes nothing at all — no claim, no letter number, no history, no outbox message, no
listing: it reads the sweep, the levels already fired and, for letter cases whose reply is late,
the cases their letter covered, and asks escalation_plan the same questions the real run asks.
The answer has the real run's summary shape plus what would fire and the letters to issue.
"""

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

from closeloop.db import connection, id_chunks
from closeloop.escalation import plan
from closeloop.escalation.claims import Counts
from closeloop.escalation.sweep import (
    SweepContext,
    by_unit,
    facts_of,
    fired_levels,
    sweep_fired,
)
from models.case import Case
from models.enums import EscalationLevel
from models.letter import Letter, LetterItem


def preview(
    session: Session, ctx: SweepContext, *, region_path: str | None = None
) -> dict[str, Any]:
    """{"checked", "notifications", "letters", "listed", "would_fire", "letters_to_issue"} of a
    run at ctx.now; `region_path` keeps only the cases of that jurisdiction (a supervisor's)."""
    # The sweep's own reading of the levels fired (it read them for every row it checked, the
    # candidates among them) and of the levels due: the same answers, not asked twice.
    checked, candidates, fired = sweep_fired(session, ctx, region_path=region_path)
    if region_path:
        candidates = [c for c in candidates if c.facts.region_path.startswith(region_path)]
    facts = {c.facts.case_id: c.facts for c in candidates}
    levels = {c.facts.case_id: c.levels for c in candidates}
    counts = Counts(checked=checked)
    would: list[dict[str, Any]] = []
    letter_cases: dict[tuple[str, str], list[int]] = defaultdict(list)
    for unit, ids in by_unit(candidates).items():
        rows = plan.decide(ctx, [facts[i] for i in ids], fired, levels)
        replies = []
        for row in rows:
            what = plan.route(row, facts[row["case_id"]].kind)
            would.append(_fire(row, what))
            if what == plan.NOTICE:
                counts.notifications += 1
            elif what == plan.LETTER:
                letter_cases[(unit, plan.base_level(row["level"]))].append(row["case_id"])
            elif what == plan.REPLY:
                replies.append((row["case_id"], would[-1]))
        warned = set(letter_cases[(unit, EscalationLevel.warning)])
        for letter_case_id, reply in replies:
            targets = _reply_targets(session, ctx, unit, letter_case_id, warned)
            reply["notice_to_head"] = not targets
            if not targets:
                counts.notifications += 1  # the reply_overdue notice to the unit's head
                continue
            for case in targets:
                assert case.id is not None
                warned.add(case.id)
                letter_cases[(unit, EscalationLevel.warning)].append(case.id)
                would.append(
                    _fire(
                        plan.claim_row(ctx, facts_of(case), EscalationLevel.warning),
                        plan.LETTER,
                        via_letter_case=letter_case_id,
                    )
                )
    to_issue: list[dict[str, Any]] = []
    listed: set[int] = set()
    for unit, level, _start, chunk in plan.letter_chunks(letter_cases):
        counts.letters[level] += 1
        to_issue.append({"unit_code": unit, "type": level, "case_ids": chunk})
        if level == EscalationLevel.warning:
            listed.update(chunk)
    # The cases' numbers and, for those a warning would list, whether they are listed already:
    # one read of both.
    read = _read(session, sorted({w["case_id"] for w in would} | listed))
    counts.listed = len(listed) - sum(read[i][1] for i in listed)
    numbers = {i: number for i, (number, _) in read.items()}
    for w in would:
        w["case_number"] = numbers[w["case_id"]]
    for letter in to_issue:
        letter["case_numbers"] = [numbers[i] for i in letter["case_ids"]]
    return {**counts.as_dict(), "would_fire": would, "letters_to_issue": to_issue}


def _fire(row: dict[str, Any], what: str, **extra: Any) -> dict[str, Any]:
    out = {"case_id": row["case_id"], "level": row["level"], "action": what, **extra}
    if what == plan.SUPERSEDED:
        out["superseded_by"] = row["data"]["superseded_by"]
    return out


def _reply_targets(
    session: Session, ctx: SweepContext, unit: str, letter_case_id: int, warned: set[int]
) -> list[Case]:
    """The cases a late reply would warn about: covered by the letter, still late, and not yet
    warned for their deadline version (nor in this run's warning letter already)."""
    letter_id = session.exec(select(Letter.id).where(Letter.case_id == letter_case_id)).first()
    if letter_id is None:
        return []
    ids = session.exec(select(LetterItem.case_id).where(LetterItem.letter_id == letter_id)).all()
    covered = session.exec(select(Case).where(col(Case.id).in_(ids))).all()
    targets: list[Case] = plan.reply_targets(ctx, unit, covered)  # type: ignore[assignment]
    fired = fired_levels(session, [facts_of(c) for c in targets])
    return [
        c
        for c in targets
        if c.id not in warned and EscalationLevel.warning not in fired.get(c.id or 0, ())
    ]


def _read(session: Session, ids: list[int]) -> dict[int, tuple[str, bool]]:
    """Case id → (number, listed)."""
    out: dict[int, tuple[str, bool]] = {}
    columns = (col(Case.id), col(Case.number), col(Case.listed))
    for where in id_chunks(session, col(Case.id), ids):
        out.update(
            {
                i: (n, listed)  # type: ignore[misc]
                for i, n, listed in connection(session).execute(select(*columns).where(where))
            }
        )
    return out
