"""One unit's share of an escalation run: lock, re-check, claim, then notify, issue and list.

The candidates are locked (SELECT … FOR UPDATE on PostgreSQL; SQLite already runs one writer at a
time), re-read, and judged again with the same rule as the sweep. Each due (case, deadline version,
level) is claimed by inserting it into escalation_fire: the unique constraint lets exactly one
insert through, however many runs race (INSERT … ON CONFLICT DO NOTHING RETURNING: the rows that
come back are ours). Only what was claimed is acted on, in the same transaction.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from closeloop import labels, text
from closeloop.auth.policy import SYSTEM
from closeloop.cases import listing
from closeloop.cases.actions import verifier_roles
from closeloop.db import CHUNK
from closeloop.escalation import plan, warnings
from closeloop.escalation.policy import LETTER_LEVELS, Facts
from closeloop.escalation.sweep import SweepContext, facts_of, fired_levels
from closeloop.letters import service as letters
from closeloop.text import Msg
from models.case import Case
from models.enums import EscalationLevel, LetterType, Role
from models.escalation import EscalationFire
from models.letter import Letter, LetterItem
from notifications import outbox


@dataclass
class Counts:
    checked: int = 0
    notifications: int = 0
    letters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LETTER_LEVELS, 0))
    listed: int = 0

    def add(self, other: "Counts") -> None:
        self.checked += other.checked
        self.notifications += other.notifications
        for level, n in other.letters.items():
            self.letters[level] += n
        self.listed += other.listed

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "notifications": self.notifications,
            "letters": dict(self.letters),
            "listed": self.listed,
        }


def lock_cases(session: Session, ids: Iterable[int]) -> list[Case]:
    """The cases, re-read and locked until the transaction ends, in id order."""
    wanted = sorted(set(ids))
    out: list[Case] = []
    for start in range(0, len(wanted), CHUNK):
        stmt = select(Case).where(col(Case.id).in_(wanted[start : start + CHUNK]))
        stmt = (
            stmt.order_by(col(Case.id)).with_for_update().execution_options(populate_existing=True)
        )
        out.extend(session.exec(stmt))
    return out


def claim(session: Session, wanted: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Insert the claims; {(case_id, level): fire id} for the ones this transaction won.
    PostgreSQL takes them as one statement over arrays (`claim_arrays`), any other database as
    an executemany (`claim_rows`): the same rows, in the same order, with the same answer."""
    if not wanted:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return claim_arrays(session, wanted)
    return claim_rows(session, wanted)


def claim_rows(session: Session, wanted: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """`claim` as an executemany of INSERT … ON CONFLICT DO NOTHING RETURNING (SQLAlchemy sends it
    as batched multi-row INSERTs): any database."""
    if not wanted:
        return {}
    table = EscalationFire.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["case_id", "deadline_version", "level"])
        .returning(table.c.id, table.c.case_id, table.c.level)
    )
    rows = session.execute(stmt, wanted)
    return {(case_id, level): fire_id for fire_id, case_id, level in rows}


# The same insert on PostgreSQL, its rows as one array per column: one short statement, where
# the multi-row INSERTs of thousands of claims cost seconds to build, parse and plan.
CLAIM_ARRAYS = sql_text(
    """
    INSERT INTO escalation_fire (case_id, deadline_version, level, fired_at, letter_id, data)
    SELECT case_id, deadline_version, level, fired_at, letter_id, CAST(data AS json)
    FROM unnest(
        CAST(:case_id AS integer[]), CAST(:deadline_version AS integer[]),
        CAST(:level AS varchar[]), CAST(:fired_at AS timestamptz[]),
        CAST(:letter_id AS integer[]), CAST(:data AS text[])
    ) WITH ORDINALITY AS claim(case_id, deadline_version, level, fired_at, letter_id, data, n)
    ORDER BY n
    ON CONFLICT (case_id, deadline_version, level) DO NOTHING
    RETURNING id, case_id, level
    """
)


def claim_arrays(session: Session, wanted: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """`claim` on PostgreSQL: one INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING
    RETURNING, in the order of `wanted` (the ids as the executemany gives them)."""
    if not wanted:
        return {}
    table = EscalationFire.__table__  # type: ignore[attr-defined]
    fired_at = table.c.fired_at.type  # UTCDateTime: what it writes, written the same
    dialect = session.get_bind().dialect
    columns = {
        "case_id": [w["case_id"] for w in wanted],
        "deadline_version": [w["deadline_version"] for w in wanted],
        "level": [str(w["level"]) for w in wanted],
        "fired_at": [fired_at.process_bind_param(w["fired_at"], dialect) for w in wanted],
        "letter_id": [w.get("letter_id") for w in wanted],
        "data": [json.dumps(w["data"]) for w in wanted],  # as the JSON column serialises it
    }
    rows = session.execute(CLAIM_ARRAYS, columns)
    return {(case_id, level): fire_id for fire_id, case_id, level in rows}


class UnitRun:
    """Escalates the given cases (normally one unit's) in the caller's transaction."""

    def __init__(self, session: Session, ctx: SweepContext) -> None:
        self.session = session
        self.ctx = ctx
        self.counts = Counts()
        self.cases: dict[int, Case] = {}
        # (unit, letter level) → case ids to cover, and fire ids to link to the letter.
        self.letter_cases: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.letter_fires: dict[tuple[str, str], list[int]] = defaultdict(list)

    def run(self, case_ids: list[int]) -> Counts:
        locked = lock_cases(self.session, case_ids)
        self.cases.update({c.id: c for c in locked if c.id is not None})
        facts = [facts_of(c) for c in locked]
        wanted = plan.decide(self.ctx, facts, fired_levels(self.session, facts))
        won = claim(self.session, wanted)
        by_id = {f.case_id: f for f in facts}
        replies: list[tuple[Case, int]] = []
        for row in wanted:
            fire_id = won.get((row["case_id"], row["level"]))
            if fire_id is None:
                continue
            case, level = self.cases[row["case_id"]], plan.base_level(row["level"])
            what = plan.route(row, case.kind)
            if what == plan.REPLY:
                replies.append((case, fire_id))
            elif what == plan.LETTER:
                self.letter_cases[(case.unit_code or "", level)].append(row["case_id"])
                self.letter_fires[(case.unit_code or "", level)].append(fire_id)
            elif what == plan.NOTICE:
                self.notice(case, by_id[row["case_id"]], level)
        for letter_case, fire_id in replies:
            self.reply_overdue(letter_case, fire_id)
        self.issue_letters()
        return self.counts

    # --- notifications ---------------------------------------------------------------------

    def notice(self, case: Case, f: Facts, level: str, to_head: bool = False) -> None:
        if warnings.is_warn(level):  # a warning before the breach (warnings.py)
            warnings.notify(
                self.session,
                case=case,
                deadline_version=f.deadline_version,
                level=level,
                now=self.ctx.now,
            )
            self.counts.notifications += 1
            return
        level = EscalationLevel(level)
        name = labels.NOTICE_SUBJECT[level]
        key = f"esc:{case.id}:v{f.deadline_version}:{level}"
        if f.rework_count and level == EscalationLevel.verify_overdue:
            key += f".{f.rework_count}"
        deadline = {
            EscalationLevel.due_soon: case.due_at,
            EscalationLevel.sign_overdue: case.sign_due_at,
            EscalationLevel.verify_overdue: case.verify_due_at,
            EscalationLevel.reply_overdue: case.due_at,
        }[level]
        when = text.local_minute(deadline)
        subject = Msg(f"{name:zh}：{case.number}", f"{name:en}: {case.number}")
        body = Msg(
            f"{name:zh}：{case.number}「{case.title}」，期限 {when}。",
            f"{name:en}: case {case.number}, deadline {when} (Asia/Shanghai).",
        )
        payload = {
            "level": level,
            "case_number": case.number,
            "deadline_version": f.deadline_version,
        }
        common: dict[str, Any] = dict(
            event=level,
            subject=subject,
            body=body,
            now=self.ctx.now,
            key=key,
            case_id=case.id,
            payload=payload,
        )
        if level in EscalationLevel.unit_notice_levels() and case.unit_code:
            outbox.notify_unit(self.session, unit_code=case.unit_code, to_head=to_head, **common)
        if level == EscalationLevel.sign_overdue:
            outbox.notify_region_role(
                self.session, region_path=case.region_path, roles=(Role.dispatcher,), **common
            )
        if level == EscalationLevel.verify_overdue:
            roles = verifier_roles(case.kind)
            outbox.notify_region_role(
                self.session, region_path=case.region_path, roles=roles, **common
            )
        self.counts.notifications += 1

    # --- a letter's reply overdue ----------------------------------------------------------

    def reply_overdue(self, letter_case: Case, fire_id: int) -> None:
        """警示函 about the cases the letter covered that are still being rectified late and not
        yet warned for their deadline version; with none left, a notice to the unit's head."""
        letter = self.session.exec(select(Letter).where(Letter.case_id == letter_case.id)).first()
        unit = letter_case.unit_code or ""
        eligible: list[Case] = []
        if letter is not None:
            ids = self.session.exec(
                select(LetterItem.case_id).where(LetterItem.letter_id == letter.id)
            ).all()
            # Lock those not locked yet (re-reading a locked one could drop a change of ours).
            for case in lock_cases(self.session, [i for i in ids if i not in self.cases]):
                self.cases[case.id or 0] = case
            items = [self.cases[i] for i in ids if i in self.cases]
            eligible = plan.reply_targets(self.ctx, unit, items)  # type: ignore[assignment]
        f = {c.id: facts_of(c) for c in eligible}
        wanted = [
            plan.claim_row(
                self.ctx,
                f[c.id],
                EscalationLevel.warning,
                via_letter=letter.id if letter else None,
                letter_case_id=letter_case.id,
            )
            for c in eligible
        ]
        won = claim(self.session, wanted)
        covered = [c for c in eligible if (c.id, EscalationLevel.warning) in won]
        if not covered:
            self.notice(
                letter_case, facts_of(letter_case), EscalationLevel.reply_overdue, to_head=True
            )
            return
        for case in covered:
            assert case.id is not None
            self.letter_cases[(unit, EscalationLevel.warning)].append(case.id)
            self.letter_fires[(unit, EscalationLevel.warning)].append(
                won[(case.id, EscalationLevel.warning)]
            )
        self.letter_fires[(unit, EscalationLevel.warning)].append(fire_id)

    # --- letters and listing ---------------------------------------------------------------

    def issue_letters(self) -> None:
        """One letter per unit and level covering all its cases (in chunks of the most one
        letter may list); the claims point at the letter that covers their case."""
        for unit, level, start, chunk in plan.letter_chunks(self.letter_cases):
            fires = self.letter_fires[(unit, level)]
            letter = letters.issue_letter(
                self.session,
                letter_type=LetterType(level),
                unit_code=unit,
                case_ids=chunk,
                now=self.ctx.now,
                actor=None,
                settings=self.ctx.settings,
                locked=self.cases,  # locked by this run: the letter does not read them again
            )
            assert letter.id is not None
            self.counts.letters[level] += 1
            # The first letter takes every claim (a letter case's own too); later chunks
            # take back their cases' claims.
            self._link(fires, letter.id, None if start == 0 else chunk)
            if level == EscalationLevel.warning:
                self.list_cases([self.cases[i] for i in chunk], letter)

    def _link(self, fire_ids: list[int], letter_id: int, case_ids: list[int] | None) -> None:
        table = EscalationFire.__table__  # type: ignore[attr-defined]
        for start in range(0, len(fire_ids), CHUNK):
            stmt = update(table).where(table.c.id.in_(fire_ids[start : start + CHUNK]))
            if case_ids is not None:
                stmt = stmt.where(table.c.case_id.in_(case_ids))
            self.session.execute(stmt.values(letter_id=letter_id))

    def list_cases(self, cases: list[Case], letter: Letter) -> None:
        """挂牌督办 through cases.listing: one batch of the version compare-and-swap. The rows
        are locked, so a conflict is not expected; if one comes anyway (StaleDataError, the batch
        undone with its savepoint), each case is refreshed and tried once more on its own,
        through the ORM."""
        data = {"letter_id": letter.id, "number": letter.number, "level": EscalationLevel.warning}
        todo = [c for c in cases if not c.listed]
        try:
            with self.session.begin_nested():
                # The flags, then every history entry in one batch (cases.listing).
                listing.list_many_for_supervision(
                    self.session, todo, actor=SYSTEM, now=self.ctx.now, data=data
                )
                self.session.flush()
        except StaleDataError:
            todo = [c for c in todo if self._list_one(c, data)]
        self.counts.listed += len(todo)

    def _list_one(self, case: Case, data: dict[str, Any]) -> bool:
        for attempt in (1, 2):
            self.session.refresh(case)
            if case.listed:
                return False
            try:
                with self.session.begin_nested():
                    listing.list_for_supervision(
                        self.session, case, actor=SYSTEM, now=self.ctx.now, data=data
                    )
                    self.session.flush()
                return True
            except StaleDataError:
                if attempt == 2:
                    raise
        return False
