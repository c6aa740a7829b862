"""Writing many rows of one table at the speed of the driver, inside the caller's transaction.

SQLAlchemy's executemany costs more per row than the database itself (statement bookkeeping,
type processing through generic layers), so an import writes with the driver:
- PostgreSQL (psycopg 3): the ids of a batch are drawn from the table's sequence in one statement,
  then the rows go in with `COPY … FROM STDIN` (psycopg's `cursor.copy`), in the binary format
  when every column's type is one psycopg writes from the values an import passes (`BINARY_OIDS`;
  else text): psycopg formats a row ten times faster so (a time is 8 bytes, not text), and the
  server reads it without parsing text;
- SQLite: multi-row INSERTs (`VALUES (…), (…), …`, as many rows as the statement's variables
  allow): SQLite runs a statement on a table with triggers (the case table's cohort counts,
  0015_dash) in a statement journal of its own, which cost ~60 us a row executed one by one
  (executemany) and next to nothing once per statement of many rows; the batch's ids are
  consecutive, ending at `last_insert_rowid()` (SQLite has one writer, and a new rowid is the
  largest plus one), and the first is checked.
Each value is converted by its column type's own bind processor, exactly as SQLAlchemy would, so
what is stored is what an ORM insert would store; except where the value is already what the driver
stores: a bool for a boolean (the processor's bool() / int() changes nothing the driver stores), an
aware time on PostgreSQL (the processor's conversion to UTC names the same instant in a
timestamptz; a naive time is refused, by a binary COPY's dumper itself, else checked), and the columns the caller gives in their stored form (`stored`, e.g. JSON
text). Nothing here commits.
"""

import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Table
from sqlalchemy.engine import Connection
from sqlmodel import Session

from models.types import UTCDateTime

Processor = Callable[[Any], Any] | None
# PostgreSQL types (oids) a binary COPY writes by psycopg's dumper of that oid from what the
# converted values are (int, str, bool, float, aware datetime, None): bool, int8, int2, int4,
# text, float8, varchar, timestamptz. A json column given as its stored text goes as text (the
# binary form of json is its text; psycopg's json dumper would encode the str once more).
BINARY_OIDS = frozenset({16, 20, 21, 23, 25, 701, 1043, 1184})
JSON_OID, TEXT_OID = 114, 25
# SQLite's page cache while an import writes, in KiB (SQLite's default: 2,000). A ledger's rows
# land all over the case table's fifteen indexes (times, states, places): with the default cache
# each insert reads back pages it just pushed out, and the import's writes took half again as
# long at 100k rows. Bounded, so the import's memory stays flat (up to this much more).
SQLITE_CACHE_KIB = 16 * 1024
# SQLite: rows per INSERT statement at most (fewer when the columns times this would pass the
# statement's limit of variables): a prepared statement of many rows is a large program (each
# row its own inserts into every index), kept in the driver's statement cache.
MULTI_ROWS = 250


@contextmanager
def sqlite_cache(session: Session, kib: int = SQLITE_CACHE_KIB) -> Iterator[None]:
    """On SQLite, a page cache of at least `kib` for the session's connection while the block
    runs, the connection's own size restored after (it goes back to the pool); elsewhere
    nothing."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    before = driver.execute("PRAGMA cache_size").fetchone()[0]  # type: ignore[union-attr]
    if before < 0 and -before >= kib:  # already as large (negative: KiB; positive: pages)
        yield
        return
    driver.execute(f"PRAGMA cache_size = -{int(kib)}")  # type: ignore[union-attr]
    try:
        yield
    finally:
        with suppress(sqlite3.Error):  # a connection broken meanwhile is discarded anyway
            driver.execute(f"PRAGMA cache_size = {int(before)}")  # type: ignore[union-attr]


def sqlite_utc_text(value: datetime) -> str:
    """An aware time as UTCDateTime stores it in SQLite ("2025-09-30 02:00:00.000000")."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime")
    # UTC's isoformat ends in "+00:00": cut rather than a replace(tzinfo=None) first.
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]


def _aware(value: datetime) -> datetime:
    """An aware time as psycopg sends it to a timestamptz (UTCDateTime converts it to UTC first:
    the same instant)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: pass an aware datetime")
    return value


class BulkTable:
    """Inserts into `table` with the columns `columns` (in that order; the id is added for the
    tables whose ids are returned), then the columns of `constant`, the same on every row
    (converted once); the values of the columns `stored` come as the driver stores them (not
    converted)."""

    def __init__(
        self,
        session: Session,
        table: Table,
        columns: Sequence[str],
        memo: dict[Any, dict[int, Any]] | None = None,
        stored: Collection[str] = (),
        constant: Mapping[str, Any] | None = None,
    ) -> None:
        self.connection: Connection = session.connection()
        self.dialect = self.connection.dialect
        self.table = table
        self.varying = list(columns)
        constant = constant or {}
        self.columns = [*self.varying, *constant]
        # Converted values by processor, then by id(value): the same time object often fills
        # several columns and tables (a case's times and its history entry's). The caller owns
        # it, keeps the values alive while it holds it, and clears it after each batch.
        self.memo = {} if memo is None else memo
        self.postgres = self.dialect.name == "postgresql"
        self.stored = frozenset(stored)
        self._oids: dict[str, int] | None = None  # the table's column types (PostgreSQL)
        self._sequence: str | None = None  # the id column's sequence (PostgreSQL)
        # A binary COPY refuses a naive time itself (psycopg's timestamptz dumper cannot
        # subtract it from its aware epoch: TypeError): the times go to it unchecked, ~0.3 us a
        # time less. A text COPY would write a naive time as local text: checked (_aware).
        self.binary = self.postgres and self._binary_types(self.columns) is not None
        self._processors = [
            (None, None) if name in stored else self._processor(table.c[name].type)
            for name in self.varying
        ]
        self._tail = []
        for name, value in constant.items():
            process = None if name in stored else self._processor(table.c[name].type)[0]
            self._tail.append(value if value is None or process is None else process(value))

    def _processor(self, type_: Any) -> tuple[Processor, type | None]:
        """The column type's bind processor for this database, and the type of the values it
        leaves as they are (see the module's docstring). The timestamps, the most frequent, by a
        faster route to the same stored value (tested against SQLAlchemy's)."""
        if isinstance(type_, UTCDateTime):
            if self.binary:
                return None, None
            return (_aware if self.postgres else sqlite_utc_text), None
        process = type_.dialect_impl(self.dialect).bind_processor(self.dialect)
        return process, (bool if isinstance(type_, Boolean) else None)

    def _tuples(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """Each row's values in column order, converted for the driver (only the columns whose
        type converts are touched; the others go as they are)."""
        get = itemgetter(*self.varying)
        tail = self._tail
        convert = [
            (i, p, self.memo.setdefault(p, {}), as_is)
            for i, (p, as_is) in enumerate(self._processors)
            if p is not None
        ]
        out = []
        for row in rows:
            values = [*get(row), *tail]
            for i, process, memo, as_is in convert:
                value = values[i]
                if value is not None and type(value) is not as_is:
                    key = id(value)
                    done = memo.get(key)
                    if done is None:
                        done = memo[key] = process(value)
                    values[i] = done
            out.append(values)
        return out

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert `rows` (each with every column of `columns`, and any other keys; enum members
        as their values)."""
        if rows:
            self._write(self.columns, self._tuples(rows))

    def insert_returning_ids(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert `rows` and return their new ids, in the order of `rows`."""
        if not rows:
            return []
        tuples = self._tuples(rows)
        if self.postgres:
            ids = self._draw_ids(len(rows))
            self._write(["id", *self.columns], [[i, *t] for i, t in zip(ids, tuples, strict=True)])
            return ids
        self._write(self.columns, tuples)
        return self._sqlite_ids(rows)

    def _draw_ids(self, n: int) -> list[int]:
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if self._sequence is None:
            # Looked up once: pg_get_serial_sequence in the SELECT below ran once per id drawn
            # (a stable function is not folded), ~2 us of the server's a row.
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (self._quoted(),))
            self._sequence = cursor.fetchone()[0]
        sql = "SELECT nextval(%(sequence)s::regclass) FROM generate_series(1, %(n)s)"
        cursor.execute(sql, {"sequence": self._sequence, "n": n})
        return sorted(row[0] for row in cursor.fetchall())

    def _sqlite_ids(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        last = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
        ids = list(range(last - len(rows) + 1, last + 1))
        # The rowids of one executemany are consecutive (one writer; rowid = largest + 1):
        # check it on the first row rather than trust it.
        key = "number" if "number" in self.varying else None
        if key is not None:
            sql = f"SELECT {key} FROM {self._quoted()} WHERE id = ?"
            first = cursor.execute(sql, (ids[0],)).fetchone()
            if first is None or first[0] != rows[0][key]:
                raise RuntimeError(f"{self.table.name}: the inserted ids are not consecutive")
        return ids

    def _quoted(self) -> str:
        return self.dialect.identifier_preparer.quote(self.table.name)

    def _binary_types(self, columns: list[str]) -> list[int] | None:
        """The oids whose dumpers write `columns` in a binary COPY, or None: a text COPY."""
        if self._oids is None:
            cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (self._quoted(),),
            )
            self._oids = dict(cursor.fetchall())
        oids = []
        for name in columns:
            oid = self._oids[name]
            if oid == JSON_OID and name in self.stored:
                oid = TEXT_OID
            if oid not in BINARY_OIDS:
                return None
            oids.append(oid)
        return oids

    def _write(self, columns: list[str], tuples: Sequence[Sequence[Any]]) -> None:
        quote = self.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        driver = self.connection.connection.driver_connection
        if self.postgres:
            oids = self._binary_types(columns)
            binary = " (FORMAT BINARY)" if oids is not None else ""
            with driver.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(f"COPY {self._quoted()} ({names}) FROM STDIN{binary}") as copy:
                    if oids is not None:
                        copy.set_types(oids)
                    for values in tuples:
                        copy.write_row(values)
            return
        one = f"({', '.join('?' * len(columns))})"
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
        per = max(1, min(MULTI_ROWS, limit // len(columns)))
        cursor = driver.cursor()  # type: ignore[union-attr]
        written = 0
        for start in range(0, len(tuples), per):
            chunk = tuples[start : start + per]
            values = [value for row in chunk for value in row]
            sql = f"INSERT INTO {self._quoted()} ({names}) VALUES {', '.join([one] * len(chunk))}"
            cursor.execute(sql, values)
            written += cursor.rowcount  # the statement's own rows, not its triggers'
        if written != len(tuples):
            raise RuntimeError(f"{self.table.name}: {written} of {len(tuples)} inserted")
