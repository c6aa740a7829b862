"""The sweep: one indexed query narrows the candidates, the pure rule says what is due.

Candidates are the open cases whose deadline is near or past (state, due_at), the dispatched ones
whose signing is overdue (state, sign_due_at) and the verifying ones whose verification is overdue
(state, verify_due_at) — each branch an index range, and each skips a case whose last level for its
deadline version already fired. Its cost follows the number of late cases, not of open ones.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, or_, select
from sqlalchemy import case as sql_case
from sqlmodel import Session, col

from closeloop.calendar.days import WorkCalendar
from closeloop.config import Settings
from closeloop.db import connection, id_chunks
from closeloop.escalation.policy import (
    DueKey,
    Facts,
    Ladder,
    Policy,
    claim_level,
    due_key,
    levels_due,
    overdue_working_days,
)
from models.case import Case
from models.enums import CaseState, EscalationLevel
from models.escalation import EscalationFire
from models.org import Category


@dataclass
class SweepContext:
    """What one run works with: time, policy, calendar, the category tree, settings."""

    now: datetime
    policy: Policy
    cal: WorkCalendar
    settings: Settings
    classes: dict[str, str | None] = field(default_factory=dict)
    _ladders: dict[tuple[str, str | None, str | None], Ladder] = field(default_factory=dict)
    _late: dict[date, int] = field(default_factory=dict)
    _due: dict[tuple[int, DueKey], list[str]] = field(default_factory=dict)

    def ladder(self, facts: Facts) -> Ladder:
        key = (facts.kind, facts.category, facts.grade)
        if key not in self._ladders:
            cls = self.classes.get(facts.category) if facts.category else None
            self._ladders[key] = self.policy.ladder_for(
                kind=facts.kind, category=facts.category, class_code=cls, grade=facts.grade
            )
        return self._ladders[key]

    def due(self, facts: Facts) -> list[str]:
        """Claim levels due now (verification rounds carry their number): worked out once per
        ladder and policy.due_key in a run (the late cases share their lateness)."""
        rule = self.ladder(facts)  # kept in _ladders for the run: its id stands for it
        key = due_key(facts, self.cal, self.now, self.late_days)
        levels = self._due.get((id(rule), key))
        if levels is None:
            due = levels_due(key, rule, self.cal, self.now)
            levels = self._due[(id(rule), key)] = [claim_level(lv, facts) for lv in due]
        return list(levels)

    def late_days(self, due_at: datetime) -> int:
        """overdue_working_days(due_at, cal, now), worked out once per deadline date in a run:
        the due levels and the letter claims ask it for thousands of cases, which share their
        deadlines' dates."""
        if self.now <= due_at:
            return 0
        day = self.cal.local_date(due_at)
        days = self._late.get(day)
        if days is None:
            days = self._late[day] = overdue_working_days(due_at, self.cal, self.now)
        return days

    @property
    def window_end(self) -> datetime:
        """The latest deadline that can be due soon: the end of the day `max_due_soon` working
        days after today."""
        day, _ = self.cal.add_working_days(self.cal.local_date(self.now), self.policy.max_due_soon)
        return self.cal.end_of_day(day)


def load_classes(session: Session) -> dict[str, str | None]:
    """Category item → its class (大类), for rules that name a class."""
    return {
        code: parent
        for code, parent in session.execute(
            select(Category.code, Category.parent_code)  # type: ignore[call-overload]
        )
    }


@dataclass(frozen=True)
class Candidate:
    facts: Facts
    levels: tuple[str, ...]  # due now and not yet fired


FACT_COLUMNS: tuple[Any, ...] = (
    col(Case.id).label("case_id"),
    col(Case.kind),
    col(Case.state),
    col(Case.unit_code),
    col(Case.deadline_version),
    col(Case.due_at),
    col(Case.sign_due_at),
    col(Case.verify_due_at),
    col(Case.category_code).label("category"),
    col(Case.grade),
    col(Case.rework_count),
    col(Case.region_path),
    col(Case.dispatched_at),
)


assert [c.name for c in FACT_COLUMNS] == list(Facts._fields)


def facts_of(row: Any) -> Facts:
    """Facts from a sweep row or a Case."""
    if isinstance(row, Case):
        assert row.id is not None
        return Facts(
            case_id=row.id,
            kind=str(row.kind),
            state=str(row.state),
            unit_code=row.unit_code,
            deadline_version=row.deadline_version,
            due_at=row.due_at,
            sign_due_at=row.sign_due_at,
            verify_due_at=row.verify_due_at,
            category=row.category_code,
            grade=str(row.grade) if row.grade else None,
            rework_count=row.rework_count,
            region_path=row.region_path,
            dispatched_at=row.dispatched_at,
        )
    return Facts(*row)  # FACT_COLUMNS are Facts' fields, in order (asserted above)


def _fired(level: Any) -> Any:
    fire = EscalationFire
    return exists().where(
        col(fire.case_id) == col(Case.id),
        col(fire.deadline_version) == col(Case.deadline_version),
        col(fire.level) == level,
    )


def candidate_filter(now: datetime, window_end: datetime, top_warning: str | None = None) -> Any:
    running = [s.value for s in CaseState.clock_running_states()]
    # Warnings before the breach (warnings.py): running cases not yet past their deadline whose
    # highest warning has not fired for this deadline version.
    warn = (
        and_(
            col(Case.state).in_(running),
            col(Case.due_at) > window_end,
            col(Case.dispatched_at) <= now,
            ~_fired(top_warning),
        )
        if top_warning
        else None
    )
    verify_key = sql_case(
        (col(Case.rework_count) == 0, literal(EscalationLevel.verify_overdue.value)),
        else_=literal(f"{EscalationLevel.verify_overdue.value}.")
        + cast(col(Case.rework_count), String),
    )
    return or_(
        # Rectification: near or past the deadline; EscalationLevel.warning is the ladder's last rung.
        and_(
            col(Case.state).in_(running),
            col(Case.due_at) <= window_end,
            ~_fired(EscalationLevel.warning),
        ),
        and_(
            col(Case.state) == CaseState.dispatched,
            col(Case.sign_due_at) < now,
            ~_fired(EscalationLevel.sign_overdue),
        ),
        and_(
            col(Case.state) == CaseState.verifying,
            col(Case.verify_due_at) < now,
            ~_fired(verify_key),
        ),
        *([warn] if warn is not None else []),
    )


def fired_levels(session: Session, facts: list[Facts]) -> dict[int, set[str]]:
    """Levels already claimed for each case's current deadline version."""
    version = {f.case_id: f.deadline_version for f in facts}
    out: dict[int, set[str]] = defaultdict(set)
    ids = sorted(version)
    fire = EscalationFire
    for where in id_chunks(session, col(fire.case_id), ids):
        rows = connection(session).execute(
            select(fire.case_id, fire.deadline_version, fire.level).where(where)  # type: ignore[call-overload]
        )
        for case_id, ver, level in rows:
            if version[case_id] == ver:
                out[case_id].add(level)
    return out


def sweep(
    session: Session, ctx: SweepContext, *, region_path: str | None = None
) -> tuple[int, list[Candidate]]:
    """(rows checked, candidates with at least one level due and not yet fired), by case id;
    `region_path`: only the cases of that jurisdiction (a supervisor's dry run)."""
    checked, candidates, _ = sweep_fired(session, ctx, region_path=region_path)
    return checked, candidates


def sweep_fired(
    session: Session, ctx: SweepContext, *, region_path: str | None = None
) -> tuple[int, list[Candidate], dict[int, set[str]]]:
    """`sweep`, with the levels already fired for every case it read (fired_levels of the
    rows checked, the candidates among them): the dry run asks the plan with them."""
    query = select(*FACT_COLUMNS).where(
        candidate_filter(ctx.now, ctx.window_end, ctx.policy.top_warning)
    )
    if region_path:
        query = query.where(col(Case.region_path).startswith(region_path, autoescape=True))
    # Core rows (no ORM result to build: thousands of rows a run), each straight into Facts.
    rows = connection(session).execute(query.order_by(col(Case.id))).all()
    facts = [Facts._make(row) for row in rows]
    fired = fired_levels(session, facts)
    out = []
    for f in facts:
        levels = tuple(lv for lv in ctx.due(f) if lv not in fired.get(f.case_id, ()))
        if levels:
            out.append(Candidate(f, levels))
    return len(rows), out, fired


def by_unit(candidates: list[Candidate]) -> dict[str, list[int]]:
    """Case ids per unit, units in code order (every process takes the same order)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for c in candidates:
        groups[c.facts.unit_code or ""].append(c.facts.case_id)
    return {unit: sorted(ids) for unit, ids in sorted(groups.items())}
