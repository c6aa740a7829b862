"""Importing a case ledger (CSV or XLSX): good rows in, bad rows reported, nothing half-written.

Memory stays bounded whatever the file's size: rows are read one at a time (csv.reader over a
text wrapper; openpyxl in read-only mode), validated against small lookup dicts of the
organisation loaded once, and written in batches with the driver (imports.bulk: COPY on
PostgreSQL, executemany on SQLite; the cases, then their history rows), never as ORM objects. What is held is the current batch, the lookups, a
cache of computed deadlines keyed by (local date, working days), and at most `max_rejected`
rejections (the total is in `rejected_count`).

A given number must be unique in the database and in the file. Only the current batch keeps a set
of its numbers: an earlier batch is already inserted, so the batch's one look-up of its numbers
(cases.numbering.taken) catches repeats of earlier rows too (told apart from older cases by the
highest case id before the import). Rows without a number are numbered when their batch is written: one block of numbers per
kind and year (cases.numbering.case_numbers), skipping numbers already in the database and the
batch's given numbers. A number the import generated for an earlier batch counts as taken.

A bad row writes nothing, not even a counter value. The import is one transaction owned by the
caller: the service never commits, and a file refused half-way (bad encoding) raises Invalid so the
caller rolls back the batches already written.

Checking and writing overlap on PostgreSQL (`_Pipeline`): a second thread writes each batch — its number
look-ups, numbering and inserts, in file order, on the caller's one connection and transaction —
while this thread reads and checks the next one. The server's work (the COPY, its indexes and
foreign keys: about as long as the client's) runs while the driver waits without the GIL, so it no
longer adds to the checks' time. Only the writing thread touches the session until the import returns; an error on either side
stops both and is raised here once the writer has stopped, so the caller's rollback finds the
connection idle.
One row's checks and its column values are in rows.py.
"""

import heapq
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import IO, Any, TypedDict

from sqlalchemy import func, select
from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.cases import numbering
from closeloop.config import Settings, get_settings
from closeloop.db import refresh_statistics
from closeloop.imports.bulk import BulkTable, sqlite_cache
from closeloop.imports.files import Cell, read_rows
from closeloop.imports.rows import Lookups, RowError, check
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseKind, HistoryAction
from models.history import CaseHistory

MAX_REJECTED = 1000
CASES = Case.__table__  # type: ignore[attr-defined]
HISTORY = CaseHistory.__table__  # type: ignore[attr-defined]
KIND_OF = {k.value: k for k in CaseKind}
Batch = list[tuple[int, dict[str, Any], bool]]  # (row number, checked values, number given)


class Rejection(TypedDict):
    row: int
    error: str  # every problem of the row, each "中文 / English"


class ImportResult(TypedDict):
    imported: int
    rejected: list[Rejection]  # the first `max_rejected` by row number
    rejected_count: int  # all of them


def import_file(
    session: Session,
    *,
    actor: Principal,
    fileobj: IO[bytes],
    filename: str,
    now: datetime,
    batch_size: int = 1000,
) -> ImportResult:
    """Read `fileobj` as the ledger its `filename` says it is (.csv or .xlsx) and import it."""
    rows = read_rows(fileobj, filename)
    source = os.path.basename(filename)
    return import_ledger(
        session, actor=actor, rows=rows, source=source, now=now, batch_size=batch_size
    )


def import_ledger(
    session: Session,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    source: str,
    now: datetime,
    batch_size: int = 1000,
    max_rejected: int = MAX_REJECTED,
    settings: Settings | None = None,
    overlap: bool | None = None,
) -> ImportResult:
    """Import `rows` — (row number as the user sees it, {column: value}) — as cases in their
    ledger state, each with one `import` history entry. Rows are streamed and written in batches
    of `batch_size`; returns how many went in and why the others did not. `overlap`: write on a
    second thread while the next batch is checked (default: on PostgreSQL only); False writes
    each batch on this thread before checking the next (the same statements in the same order:
    the tests compare the two)."""
    if overlap is None:
        # SQLite's driver gives the GIL up for each row's insert (~25 us) and waits up to the
        # switch interval to take it back from the checking thread: measured, the overlap cost
        # SQLite 10-25 % more CPU and gained no wall time. PostgreSQL's waits are a COPY's end.
        overlap = session.get_bind().dialect.name == "postgresql"
    with sqlite_cache(session):
        return _import(
            session, actor, rows, source, now, batch_size, max_rejected, settings, overlap
        )


def _import(
    session: Session,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    source: str,
    now: datetime,
    batch_size: int,
    max_rejected: int,
    settings: Settings | None,
    overlap: bool,
) -> ImportResult:
    lookups = Lookups(session, settings or get_settings())
    before = session.execute(select(func.max(CASES.c.id))).scalar() or 0
    rejected = _Rejections(max_rejected)
    batch: Batch = []
    numbers: set[str] = set()  # the current batch's
    writer = _Writer(session, actor, source, now)

    def write(batch: Batch) -> int:
        return _write(session, batch, before, writer, rejected)

    with _pipeline(write, overlap) as pipeline:
        for row, raw in rows:
            try:
                values = check(raw, lookups, now)
            except RowError as exc:
                rejected.add(row, exc.both())
                continue
            given = values["number"] is not None
            if given and values["number"] in numbers:
                rejected.add(row, _repeat(values["number"]).both())
                continue
            if given:
                numbers.add(values["number"])
            batch.append((row, values, given))
            if len(batch) >= batch_size:
                pipeline.put(batch)
                batch, numbers = [], set()
        pipeline.put(batch)
    # The planner's row counts include the import before it commits (the first report after a
    # large import is planned on the rows it reads).
    refresh_statistics(session, {CASES.name: pipeline.imported, HISTORY.name: pipeline.imported})
    return {
        "imported": pipeline.imported,
        "rejected": rejected.first(),
        "rejected_count": rejected.count,
    }


def _repeat(number: str) -> Msg:
    return Msg(f"编号 {number} 与本文件前面的行重复", f"number {number!r} repeats an earlier row")


def _write(
    session: Session,
    batch: Batch,
    before: int,
    writer: "_Writer",
    rejected: "_Rejections",
) -> int:
    """Insert one batch: drop rows whose given number is taken, number the others (a block of
    numbers per kind and year, skipping the batch's given numbers), then the cases, then
    history."""
    given = [values["number"] for _, values, is_given in batch if is_given]
    taken = numbering.taken(session, given)
    keep = []
    unnumbered: dict[tuple[CaseKind, int], list[dict[str, Any]]] = {}
    for row, values, is_given in batch:
        number = values["number"]
        if is_given and number in taken:
            error = (
                _repeat(number)
                if taken[number] > before
                else Msg(f"编号 {number} 已存在", f"number {number!r} already exists")
            )
            rejected.add(row, error.both())
            continue
        if not is_given:
            year = values["reported_at"].astimezone(SHANGHAI).year
            unnumbered.setdefault((KIND_OF[values["kind"]], year), []).append(values)
        keep.append((row, values))
    avoid = set(given)
    for (kind, year), group in unnumbered.items():
        drawn = numbering.case_numbers(session, kind, year, len(group), avoid)
        for values, number in zip(group, drawn, strict=True):
            values["number"] = number
    writer.write(keep)
    return len(keep)


class _Writer:
    """The batch's cases and their `import` history entries, written with the driver
    (imports.bulk: COPY on PostgreSQL, executemany on SQLite)."""

    def __init__(self, session: Session, actor: Principal, source: str, now: datetime) -> None:
        self.session, self.source = session, source
        self.constant = {
            "seq": 1,
            "action": HistoryAction.import_.value,
            "from_state": None,
            "actor_id": actor.id,
            "actor": actor.display_name,
            "at": now,
            "note": None,
        }
        self.cases: BulkTable | None = None
        # The converted values of the current batch (bulk.BulkTable).
        self.memo: dict[Any, dict[int, Any]] = {}
        columns = [c.name for c in HISTORY.c if c.name != "id"]
        # The entry's data {"source": …, "row": n} as its JSON column stores it (json.dumps),
        # written from a template: one json.dumps per import instead of one per row.
        self.data = json.dumps({"source": source, "row": 0}).removesuffix("0}")
        self.history = BulkTable(
            session,
            HISTORY,
            [c for c in columns if c not in self.constant],
            self.memo,
            stored=("data",),
            constant=self.constant,
        )

    def write(self, keep: list[tuple[int, dict[str, Any]]]) -> None:
        if not keep:
            return
        if self.cases is None:  # the columns a checked row has, and the others' defaults
            columns = list(keep[0][1])
            self.defaults = {
                c.name: c.default.arg
                for c in CASES.c
                if c.name != "id" and c.name not in columns and c.default is not None
            }
            self.cases = BulkTable(self.session, CASES, columns, self.memo, constant=self.defaults)
        ids = self.cases.insert_returning_ids([values for _, values in keep])
        self.history.insert(
            [
                {
                    "case_id": case_id,
                    "to_state": values["state"],
                    "data": f"{self.data}{row}}}",
                    # The ledger's values (closed_at: the close or cancellation time) for "as of T".
                    "due_at": values["due_at"],
                    "dispatched_at": values["dispatched_at"],
                    "closed_at": values["closed_at"] or values["cancelled_at"],
                    "listed": values["listed"],
                    "unit_code": values["unit_code"],
                }
                for case_id, (row, values) in zip(ids, keep, strict=True)
            ]
        )
        self.memo.clear()


# Python hands the GIL to a waiting thread after this many seconds (default 5 ms). The writer
# waits on the database a few times per batch (look-ups, ids, the end of each COPY) and would
# then wait up to this long for the checking thread: shorter while an import overlaps.
SWITCH_INTERVAL = 0.0005


class _Pipeline:
    """Batches written by `write` in the order they are put, on a second thread (`overlap`) or
    at once. At most one batch waits while one is written; the writer's error is raised by the
    next put and by the end of the block."""

    def __init__(self, write: Callable[[Batch], int], overlap: bool) -> None:
        self.write, self.imported = write, 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        if overlap:
            self.thread = threading.Thread(target=self._run, name="closeloop-import", daemon=True)
            self.thread.start()

    def put(self, batch: Batch) -> None:
        if not batch:
            return
        if self.thread is None:
            self.imported += self.write(batch)
            return
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is None:  # after an error: drain, so that put() never blocks
                try:
                    self.imported += self.write(batch)
                except BaseException as exc:  # raised on the caller's thread
                    self.error = exc

    def close(self) -> None:
        """Wait for the writer to finish what was put (after an error: to stop)."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()


@contextmanager
def _short_switches() -> Iterator[None]:
    """SWITCH_INTERVAL while any import of the process overlaps; the first in sets it, the last
    out restores the interval it found (imports may run at once in a server)."""
    with _SWITCHES_LOCK:
        if not _SWITCHES:
            _SWITCHES.append(sys.getswitchinterval())
            sys.setswitchinterval(min(_SWITCHES[0], SWITCH_INTERVAL))
        _SWITCHES.append(0.0)
    try:
        yield
    finally:
        with _SWITCHES_LOCK:
            _SWITCHES.pop()
            if len(_SWITCHES) == 1:
                sys.setswitchinterval(_SWITCHES.pop())


_SWITCHES: list[float] = []  # the interval found by the first, then one entry per import
_SWITCHES_LOCK = threading.Lock()


@contextmanager
def _pipeline(write: Callable[[Batch], int], overlap: bool) -> Iterator[_Pipeline]:
    with _short_switches() if overlap else nullcontext():
        pipeline = _Pipeline(write, overlap)
        try:
            yield pipeline
        finally:  # on every exit: the connection is idle when the caller rolls back
            pipeline.close()
    if pipeline.error is not None:
        raise pipeline.error


class _Rejections:
    """The first `cap` rejections by row number (rows of a batch are judged out of order when
    their numbers are checked), and how many there were in all."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0
        self._heap: list[tuple[int, str]] = []  # (-row, error): the largest row is on top
        self._lock = threading.Lock()  # the checks and the writer (taken numbers) both add

    def add(self, row: int, error: str) -> None:
        with self._lock:
            self.count += 1
            if len(self._heap) < self.cap:
                heapq.heappush(self._heap, (-row, error))
            elif self._heap and row < -self._heap[0][0]:
                heapq.heapreplace(self._heap, (-row, error))

    def first(self) -> list[Rejection]:
        return [{"row": -r, "error": e} for r, e in sorted(self._heap, reverse=True)]
