"""The demo district's history, played in time order (closeloop.demo loads it).

Every case's steps, the escalation service's daily run and the monthly reports happen in the
order of their times across all cases: a heap holds each case's next step, and a case's next
step is computed once the one before is done. Escalation runs as the scheduler would, at 09:00
Shanghai on each working day, so reminder, supervision and warning letters, letter cases and
listings carry their real past dates; the units sign and answer most letter cases (some late,
a few never), and the monthly reports of the last complete months are made on the 1st at 08:00.
"""

import heapq
import io
import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from closeloop.auth.policy import SYSTEM, Principal
from closeloop.calendar.days import SHANGHAI, WorkCalendar
from closeloop.cases import attachments
from closeloop.cases import service as cases
from closeloop.demo import data as D
from closeloop.demo import dossier
from closeloop.escalation import service as escalation
from closeloop.reports import periods
from closeloop.reports import service as reports
from models.case import ActionInput, Case, CaseCreate
from models.enums import CaseKind

ESCALATION_AT = time(9)  # the daily escalation run, Shanghai
REPORT_AT = time(8)  # monthly reports, on the 1st
REPORT_MONTHS = 2  # the last complete months that get their report
CALENDAR = WorkCalendar()  # the statutory calendar the demo's people keep


class Walker:
    """Files a planned case and takes each step of its path, at the times people would."""

    def __init__(
        self, session: Session, people: dict[str, Principal], *, now: datetime, rng: random.Random
    ) -> None:
        self.session, self.people, self.now, self.rng = session, people, now, rng
        self.cal = CALENDAR
        self.handlers = {unit: people[username] for unit, (username, _) in D.HANDLERS.items()}

    def file(self, spec: D.Spec) -> Case:
        filer = self.people[spec.filer]
        case = cases.file_case(
            self.session,
            actor=filer,
            now=spec.reported_at,
            data=CaseCreate(
                kind=spec.kind,
                title=spec.title,
                description=spec.description,
                category_code=spec.item.code,
                grid_code=spec.grid.code,
                address=spec.address,
                location=spec.location,
                grade=spec.grade,
                urgent=spec.urgent,
            ),
        )
        spec.case_id = case.id
        if spec.kind == CaseKind.hazard or self.rng.random() < 0.6:
            self._photo(case, filer, spec.reported_at, "现场照片.png", D.BEFORE_PHOTOS)
        return case

    def next_time(
        self, step: str, spec: D.Spec, case: Case, prev: datetime, *, remaining: int
    ) -> datetime:
        return self._clamp(prev, self._when(step, spec, case, prev), remaining=remaining)

    def do(self, step: str, s: D.Spec, case: Case, t: datetime, specs: list[D.Spec]) -> None:
        desk, boss = self.people[D.DISPATCHER[0]], self.people[D.SUPERVISOR[0]]
        verifier = boss if s.kind == CaseKind.hazard else desk
        actors = {
            "desk": desk,
            "boss": boss,
            "handler": self.handlers.get(case.unit_code or ""),
            "verifier": self.people[s.filer] if s.self_verify else verifier,
        }
        data: dict[str, object] = {}
        if step in D.STEP_TEXTS:
            field, texts = D.STEP_TEXTS[step]
            # a suspension is decided for the reason it was asked for
            pick = self.rng.randrange(len(texts)) if "suspen" not in step else (case.id or 0)
            data[field] = texts[pick % len(texts)]
        right = s.grid.street.office if s.item.unit == D.STREET_UNIT else s.item.unit
        if step == "dispatch":
            data.update(unit_code=right, limit_days=s.limit_days)
        elif step == "misdispatch":
            data["unit_code"] = s.wrong_unit
        elif step == "return":
            wrong = D.UNIT_NAMES[case.unit_code or ""]
            data["reason"] = D.RETURN_REASON.format(wrong=wrong, right=D.UNIT_NAMES[right])
        elif step.startswith("submit") and (s.kind == CaseKind.hazard or self.rng.random() < 0.7):
            handler = actors["handler"]
            assert handler is not None
            data["attachment_ids"] = [
                self._photo(case, handler, t, "整改后照片.png", D.AFTER_PHOTOS)
            ]
        elif step == "request_extension":
            data["days"] = self.rng.choice([3, 5, 7, 10])
        elif step == "reopen":
            data["limit_days"] = s.limit_days
        elif step == "merge":
            assert s.target is not None
            data["target_case_id"] = specs[s.target].case_id
        actor = actors[D.STEP_ACTORS[step]]
        assert actor is not None, f"no one to {step} case {case.number}"
        action = {"misdispatch": "dispatch", "submit_late": "submit"}.get(step, step)
        dossier.around_step(
            self.session, self.people, step=step, case=case, actor=actor, at=t, after=False
        )
        cases.perform(
            self.session,
            actor=actor,
            case_id=case.id or 0,
            action=action,
            data=ActionInput(**data),
            now=t,
        )
        dossier.around_step(
            self.session, self.people, step=step, case=case, actor=actor, at=t, after=True
        )

    def _photo(
        self, case: Case, actor: Principal, at: datetime, name: str, photos: list[bytes]
    ) -> int:
        assert case.id is not None
        row = attachments.add_attachment(
            self.session,
            actor=actor,
            case_id=case.id,
            filename=name,
            stream=io.BytesIO(self.rng.choice(photos)),
            now=at,
        )
        assert row.id is not None
        return row.id

    def _when(self, step: str, s: D.Spec, case: Case, prev: datetime) -> datetime:
        """When a step happens, as the people involved would take it: most meet their deadline."""

        def hours(low: float, high: float) -> timedelta:
            return timedelta(hours=self.rng.uniform(low, high))

        due, late = case.due_at, self.rng.random() < 0.1
        if s.urgent and step in ("dispatch", "misdispatch", "sign"):
            return prev + timedelta(minutes=self.rng.uniform(5, 25))
        if step in ("dispatch", "misdispatch"):
            return self._desk(prev + hours(0.15, 3))
        if step in ("cancel", "merge"):
            return self._desk(prev + hours(0.2, 6))
        if step == "sign":
            at = self._office(prev + (hours(3, 30) if late else hours(0.1, 1.5)))
            if not late and case.sign_due_at and at > case.sign_due_at:
                at = self._before(prev, case.sign_due_at, 0.7)
            return at
        if step == "submit_late" and due is not None:
            return self._office(due + hours(8, 200))
        if step in ("submit", "submit_late", "request_extension") and due and due > prev:
            return self._before(prev, due, 0.35 if step != "request_extension" else 0.6)
        if step == "approve" and s.self_verify:
            return self._desk(prev + hours(1, 24))
        if step in ("approve", "reject"):
            at = self._office(prev + hours(1, 24))
            if not late and due and due > prev and at > due:
                at = self._before(prev, due, 0.6)
            return at
        if step in ("resume", "reopen"):
            return self._office(prev + timedelta(days=self.rng.uniform(3, 12)))
        if step == "request_suspension":
            return self._office(prev + hours(4, 72))
        return self._office(prev + hours(2, 30))  # return, decisions, suspend, late submits

    def _before(self, prev: datetime, deadline: datetime, share: float) -> datetime:
        """Office time between `prev` and `deadline`, about `share` of the way (±0.25)."""
        at = self._office(prev + (deadline - prev) * self.rng.uniform(share - 0.25, share + 0.25))
        if at <= deadline:
            return at
        # The office opens too late: the last working day before the deadline, or after hours.
        day = deadline.astimezone(SHANGHAI).date()
        opens = max(prev, datetime.combine(day, time(9), SHANGHAI))
        closes = min(deadline, datetime.combine(day, time(18), SHANGHAI))
        if self.cal.is_workday(day) and opens < closes:
            return opens + (closes - opens) * self.rng.uniform(0.1, 0.9)
        return prev + (deadline - prev) * self.rng.uniform(0.2, 0.8)

    def _clamp(self, prev: datetime, at: datetime, *, remaining: int) -> datetime:
        """Keep each step after the one before and the whole path before `now`."""
        limit = self.now - timedelta(minutes=10 * remaining)
        for _ in range(5):  # a time between the last step and `now`, by day if there is one
            if at <= limit or limit <= prev:
                break
            at = prev + (limit - prev) * self.rng.uniform(0.2, 0.95)
            if not 8 <= at.astimezone(SHANGHAI).hour < 21:
                at = self.now
        at = min(at, max(limit, prev))
        return max(at, prev + timedelta(minutes=1)).astimezone(UTC)

    def _desk(self, at: datetime) -> datetime:
        """The grid centre's desk works 08:00–22:00 every day."""
        local = at.astimezone(SHANGHAI)
        if 8 <= local.hour < 22:
            return at
        day = local.date() + timedelta(days=1 if local.hour >= 22 else 0)
        return datetime.combine(day, time(8), SHANGHAI) + timedelta(minutes=self.rng.uniform(0, 50))

    def _office(self, at: datetime) -> datetime:
        """Units and leadership work 09:00–18:00 on working days of the statutory calendar."""
        local = at.astimezone(SHANGHAI)
        day = local.date()
        if self.cal.is_workday(day) and 9 <= local.hour < 18:
            return at
        if not (self.cal.is_workday(day) and local.hour < 9):
            day += timedelta(days=1)
            while not self.cal.is_workday(day):
                day += timedelta(days=1)
        opens = datetime.combine(day, time(9), SHANGHAI)
        return opens + timedelta(minutes=self.rng.uniform(0, 180))


class Player:
    """Plays the planned cases, the daily escalation runs and the monthly reports in time
    order, up to `now`."""

    def __init__(
        self,
        session: Session,
        people: dict[str, Principal],
        *,
        now: datetime,
        rng: random.Random,
        specs: list[D.Spec],
    ) -> None:
        self.session, self.now, self.rng, self.specs = session, now, rng, specs
        self.walker = Walker(session, people, now=now, rng=rng)
        self.boss = people[D.SUPERVISOR[0]]
        self.cases: dict[int, Case] = {}
        self.heap: list[tuple[datetime, int, tuple[Any, ...]]] = []
        self.order = itertools.count()

    def push(self, at: datetime, event: tuple[Any, ...]) -> None:
        heapq.heappush(self.heap, (at, next(self.order), event))

    def play(self) -> None:
        for i, spec in enumerate(self.specs):
            self.push(spec.reported_at, ("file", i))
        first = min(s.reported_at for s in self.specs).astimezone(SHANGHAI).date()
        for day in _days(first, self.now.astimezone(SHANGHAI).date()):
            at = datetime.combine(day, ESCALATION_AT, SHANGHAI)
            if CALENDAR.is_workday(day) and at < self.now:
                self.push(at, ("escalate",))
        while self.heap:
            at, _, event = heapq.heappop(self.heap)
            getattr(self, f"_{event[0]}")(at, *event[1:])

    # --- the planned cases -----------------------------------------------------------------

    def _file(self, at: datetime, i: int) -> None:
        self.cases[i] = self.walker.file(self.specs[i])
        self._schedule(i, 0, at)

    def _step(self, at: datetime, i: int, k: int) -> None:
        spec = self.specs[i]
        self.walker.do(D.PATHS[spec.path][k], spec, self.cases[i], at, self.specs)
        self._schedule(i, k + 1, at)

    def _schedule(self, i: int, k: int, prev: datetime) -> None:
        steps = D.PATHS[self.specs[i].path]
        if k < len(steps):
            spec, case = self.specs[i], self.cases[i]
            at = self.walker.next_time(steps[k], spec, case, prev, remaining=len(steps) - k)
            self.push(at, ("step", i, k))

    # --- escalation and the letter cases it opens ------------------------------------------

    def _escalate(self, at: datetime) -> None:
        escalation.run(self.session, now=at)
        opened = self.session.exec(
            select(Case)
            .where(col(Case.kind) == CaseKind.letter, col(Case.reported_at) == at)
            .order_by(col(Case.id))
        ).all()
        for letter_case in opened:
            roll = self.rng.random()
            answer = (
                "on_time"
                if roll < D.LETTER_ON_TIME
                else ("late" if roll < D.LETTER_ON_TIME + D.LETTER_LATE else "silent")
            )
            self._letter_next(letter_case, answer, "sign", at)

    def _letter_next(self, case: Case, answer: str, step: str, prev: datetime) -> None:
        w = self.walker
        hours = lambda low, high: timedelta(hours=self.rng.uniform(low, high))  # noqa: E731
        steps = {
            "on_time": ("sign", "submit", "approve"),
            "late": ("sign", "submit", "approve"),
            "silent": ("sign",),
        }[answer]
        if step not in steps:
            return
        due = case.due_at
        if step == "sign":
            at = w._office(prev + hours(0.3, 4))
            if case.sign_due_at and at > case.sign_due_at:
                at = w._before(prev, case.sign_due_at, 0.7)
        elif step == "submit" and answer == "late" and due is not None:
            at = w._office(due + hours(20, 70))
        elif step == "submit" and due is not None and due > prev:
            at = w._before(prev, due, 0.6)
        else:
            at = w._office(prev + hours(2, 30))
        at = w._clamp(prev, at, remaining=len(steps) - steps.index(step))
        if at < self.now:
            self.push(at, ("letter", case, answer, step))

    def _letter(self, at: datetime, case: Case, answer: str, step: str) -> None:
        handler = self.walker.handlers[case.unit_code or ""]
        data: dict[str, Any] = {}
        actor = handler
        if step == "submit":
            doc = attachments.add_attachment(
                self.session,
                actor=handler,
                case_id=case.id or 0,
                filename="整改情况报告.pdf",
                stream=io.BytesIO(D.REPLY_DOCUMENT),
                now=at,
            )
            data = {"note": self.rng.choice(D.LETTER_REPLIES), "attachment_ids": [doc.id]}
        elif step == "approve":
            actor, data = self.boss, {"note": self.rng.choice(D.LETTER_APPROVALS)}
        cases.perform(
            self.session,
            actor=actor,
            case_id=case.id or 0,
            action=step,
            data=ActionInput(**data),
            now=at,
        )
        following = {"sign": "submit", "submit": "approve"}.get(step)
        if following:
            self._letter_next(case, answer, following, at)


def make_reports(session: Session, *, now: datetime, specs: list[D.Spec]) -> None:
    """The monthly reports of the months the demo's cases span, each made at its time (the 1st
    of the next month). Made after everything the demo holds is in — the walk's cases and the
    safety-production records dated within those months — so that every stored report says what
    the API says of its month."""
    first = min(s.reported_at for s in specs).astimezone(SHANGHAI).date()
    for key, at in report_times(now):
        if at.date() > first:
            reports.generate(session, actor=SYSTEM, cadence="monthly", period=key, now=at)


def report_times(now: datetime) -> list[tuple[str, datetime]]:
    """The last REPORT_MONTHS complete months before `now`, each with the time its report is
    made (the 1st of the next month, 08:00 Shanghai), oldest first; only times before `now`."""
    this = periods.containing("monthly", now.astimezone(SHANGHAI).date())
    out = []
    for p in periods.previous(this, REPORT_MONTHS + 1):
        at = datetime.combine(p.end + timedelta(days=1), REPORT_AT, SHANGHAI)
        if at < now:
            out.append((p.key, at))
    return out[-REPORT_MONTHS:]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
