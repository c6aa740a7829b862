"""What an escalation run fires, decided in one place for the real run and the dry run.

Both the real run (escalation_claims.UnitRun, under row locks) and the dry run
(escalation_preview, read-only) call these, so a preview cannot drift from what a run does:

    decide        the claims due for a set of cases: each level due and not yet fired; a case
                  with no unit gets no letter; lower letter levels reached in the same run are
                  claimed as superseded by the highest one (one letter per case and run)
    route         what a claim leads to: a notice, a letter, a late letter reply, or nothing
    reply_targets the cases a late letter reply warns about (covered, same unit, still late)
    letter_chunks one letter per unit and level, in chunks of the most one letter may list
"""

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from closeloop.cases.deadlines import is_overdue
from closeloop.escalation import warnings
from closeloop.escalation.policy import LETTER_LEVELS, Facts
from closeloop.escalation.sweep import SweepContext
from models.enums import CaseKind, EscalationLevel
from models.letter import MAX_LETTER_CASES

NOTICE, LETTER, REPLY, SUPERSEDED = "notice", "letter", EscalationLevel.reply_overdue, "superseded"


def claim_row(ctx: SweepContext, f: Facts, level: str, **data: Any) -> dict[str, Any]:
    """One escalation_fire row as the run inserts it."""
    if f.due_at is not None and level in LETTER_LEVELS:
        data["overdue_working_days"] = ctx.late_days(f.due_at)
    return {
        "case_id": f.case_id,
        "deadline_version": f.deadline_version,
        "level": level,
        "fired_at": ctx.now,
        "letter_id": None,
        "data": data,
    }


def decide(
    ctx: SweepContext,
    facts: Iterable[Facts],
    fired: dict[int, set[str]],
    levels: dict[int, tuple[str, ...]] | None = None,
) -> list[dict[str, Any]]:
    """The claims due for these cases at ctx.now, in case order then ladder order. `levels`:
    the levels due and not fired per case when the sweep has them already (its Candidate.levels,
    the same computation), so they are not worked out twice."""
    wanted: list[dict[str, Any]] = []
    shapes: dict[tuple[tuple[str, ...], bool], list[tuple[str, dict[str, Any]]]] = {}
    for f in facts:
        if levels is not None:
            due = levels[f.case_id]
        else:
            due = tuple(lv for lv in ctx.due(f) if lv not in fired.get(f.case_id, ()))
        key = (due, bool(f.unit_code))
        claims = shapes.get(key)
        if claims is None:  # the same levels due give the same claims: worked out once a run
            claims = shapes[key] = _claims(list(due), has_unit=bool(f.unit_code))
        for level, extra in claims:
            wanted.append(claim_row(ctx, f, level, **extra))
    return wanted


def _claims(due: list[str], *, has_unit: bool) -> list[tuple[str, dict[str, Any]]]:
    """(level, extra data) of each claim for these levels due: a case with no unit gets no
    letter; lower letter levels and lower warnings are superseded by the highest."""
    if not has_unit:  # nobody to address a letter to (an imported odd row)
        due = [lv for lv in due if lv not in LETTER_LEVELS]
    top = max((lv for lv in due if lv in LETTER_LEVELS), key=LETTER_LEVELS.index, default=None)
    warn = max(filter(warnings.is_warn, due), key=warnings.fraction_of, default=None)
    out = []
    for level in due:
        extra = {"superseded_by": top} if level in LETTER_LEVELS and level != top else {}
        if warnings.is_warn(level) and level != warn:  # only the highest warning notifies
            extra = {"superseded_by": warn}
        out.append((level, extra))
    return out


def route(row: dict[str, Any], kind: str) -> str:
    """What a claimed row leads to: NOTICE, LETTER (its unit's letter of its level), REPLY (a
    letter case whose reply is late: a 警示函 about its cases still late) or SUPERSEDED."""
    if "superseded_by" in row["data"]:
        return SUPERSEDED
    level = base_level(row["level"])
    if level == EscalationLevel.warning and kind == CaseKind.letter:
        return REPLY
    return LETTER if level in LETTER_LEVELS else NOTICE


def base_level(level: str) -> str:
    """The ladder level of a claim level (a verification round "verify_overdue.2" → its level)."""
    return level.split(".")[0]


class CaseLike(Protocol):
    id: int | None
    state: Any
    unit_code: str | None
    due_at: Any


def reply_targets(ctx: SweepContext, unit: str, covered: Iterable[CaseLike]) -> list[CaseLike]:
    """Of the cases a letter covered, those its late reply warns about: still being rectified by
    the same unit and past their deadline (whether they were already warned is the claim's
    business), in id order."""
    out = [c for c in covered if c.unit_code == unit and is_overdue(c, ctx.now)]
    return sorted(out, key=lambda c: c.id or 0)


def letter_chunks(
    letter_cases: dict[tuple[str, str], list[int]],
) -> Iterator[tuple[str, str, int, list[int]]]:
    """(unit, level, start, case ids) for each letter to issue: one per unit and level covering
    its cases (each once, in the order they came), in chunks of the most one letter may list."""
    for (unit, level), ids in sorted(letter_cases.items()):
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), MAX_LETTER_CASES):
            yield unit, level, start, unique[start : start + MAX_LETTER_CASES]
