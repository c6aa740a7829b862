"""The cohort counts of each filing day, kept by triggers on the case table (models/cohort.py):
the dashboard's six-month trend reads a few thousand rows of it instead of every case filed in
those months (~125,000 at 300,000 cases).

A row per (Shanghai day of filing, kind, region path cut after its third '/'): reported,
cancelled, closed, on_time by the cases' live columns. Kept in the same transaction as every
write of a case:
- PostgreSQL: inserts and deletes by statement-level triggers over their transition tables (one
  grouped upsert per statement, so a COPY of many cases costs one statement, not a trigger per
  row); updates by a row-level trigger whose WHEN lets through only the updates that can move a
  count (a change of the filing time, kind or region path, or of the state, deadline or close
  time where the old or new state is final): dispatching, signing, submitting, extending an
  open case's deadline cost the WHEN only. TRUNCATE empties it.
- SQLite: row-level triggers with the same WHEN.
Then it is filled from the cases already there.

Revision ID: 0015_dash
Revises: 0014_import
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_dash"
down_revision: str | None = "0014_import"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# models.cohort.PATH_SLASHES as it stood at this revision.
PATH_SLASHES = 3
FINAL = "('cancelled', 'closed')"
COUNTS = ("reported", "cancelled", "closed", "on_time")
COLUMNS = "day, kind, path, reported, cancelled, closed, on_time"


def _add(row: str) -> str:
    """The upsert's update: the existing row (`row`) plus the new counts."""
    return ", ".join(f"{c} = {row}.{c} + excluded.{c}" for c in COUNTS)


ADD = _add("d")
# SQLite's DO UPDATE names the row there by its table's name, without an alias.
ADD_SQLITE = _add("case_cohort_day")


def _day(r: str, dialect: str) -> str:
    """The Shanghai day of the filing time (sql.local_date's SQL)."""
    if dialect == "sqlite":
        return f"date({r}reported_at, '+8 hours')"
    return f"CAST(({r}reported_at AT TIME ZONE 'Asia/Shanghai') AS DATE)"


def _path(r: str, dialect: str) -> str:
    """The region path up to and including its third '/', or the whole if it has fewer."""
    p = f"{r}region_path"
    if dialect != "sqlite":
        return f"coalesce(substring({p} from '^(?:[^/]*/){{{PATH_SLASHES}}}'), {p})"
    ends = [f"instr({p}, '/')"]  # the position of each '/', found after the one before
    found = [ends[0]]
    for _ in range(PATH_SLASHES - 1):
        found.append(f"instr(substr({p}, {ends[-1]} + 1), '/')")
        ends.append(f"({ends[-1]} + {found[-1]})")
    missing = " OR ".join(f"{f} = 0" for f in found)
    return f"CASE WHEN {missing} THEN {p} ELSE substr({p}, 1, {ends[-1]}) END"


def _counts(r: str, sign: str = "") -> list[str]:
    """reported, cancelled, closed, on_time of one case (1 or 0 each), times `sign`."""
    closed = f"{r}state = 'closed'"
    return [
        f"{sign}1",
        f"{sign}CASE WHEN {r}state = 'cancelled' THEN 1 ELSE 0 END",
        f"{sign}CASE WHEN {closed} THEN 1 ELSE 0 END",
        f"{sign}CASE WHEN {closed} AND ({r}due_at IS NULL OR {r}closed_at <= {r}due_at)"
        " THEN 1 ELSE 0 END",
    ]


def _row(r: str, dialect: str, sign: str = "", *, named: bool = True) -> str:
    """One case's key and counts, named day, kind, path, n, c, cl, o (`named`: for a SELECT)."""
    values = [_day(r, dialect), f"{r}kind", _path(r, dialect), *_counts(r, sign)]
    if not named:
        return ", ".join(values)
    names = ("day", "kind", "path", "n", "c", "cl", "o")
    return ", ".join(f"{v} AS {n}" for v, n in zip(values, names, strict=True))


def _moved(dialect: str) -> str:
    """The updates that can move a count (the WHEN of the update triggers)."""
    differ = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    key = " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in ("reported_at", "kind", "region_path"))
    flags = " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in ("state", "due_at", "closed_at"))
    return f"{key} OR ((OLD.state IN {FINAL} OR NEW.state IN {FINAL}) AND ({flags}))"


def _grouped(rows: str) -> str:
    """The upsert of `rows` (columns day, kind, path, n, c, cl, o) summed per key, in key order
    (concurrent statements then lock the rows they share in the same order)."""
    return (
        f"INSERT INTO case_cohort_day AS d ({COLUMNS})"
        " SELECT day, kind, path, sum(n), sum(c), sum(cl), sum(o)"
        f" FROM ({rows}) AS r"
        " GROUP BY day, kind, path"
        " HAVING sum(n) <> 0 OR sum(c) <> 0 OR sum(cl) <> 0 OR sum(o) <> 0"
        " ORDER BY day, kind, path"
        f" ON CONFLICT (day, kind, path) DO UPDATE SET {ADD}"
    )


def _function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {body}; RETURN NULL; END $$"
    )


def _postgresql() -> None:
    pg = "postgresql"
    op.execute(_function("case_cohort_inserted", _grouped(f"SELECT {_row('', pg)} FROM added")))
    op.execute(
        _function("case_cohort_deleted", _grouped(f"SELECT {_row('', pg, '-')} FROM removed"))
    )
    moved = f"SELECT {_row('OLD.', pg, '-')} UNION ALL SELECT {_row('NEW.', pg)}"
    op.execute(_function("case_cohort_updated", _grouped(moved)))
    op.execute(_function("case_cohort_truncated", "DELETE FROM case_cohort_day"))
    op.execute(
        'CREATE TRIGGER case_cohort_inserted AFTER INSERT ON "case"'
        " REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION case_cohort_inserted()"
    )
    op.execute(
        'CREATE TRIGGER case_cohort_deleted AFTER DELETE ON "case"'
        " REFERENCING OLD TABLE AS removed FOR EACH STATEMENT"
        " EXECUTE FUNCTION case_cohort_deleted()"
    )
    op.execute(
        'CREATE TRIGGER case_cohort_updated AFTER UPDATE ON "case" FOR EACH ROW'
        f" WHEN ({_moved(pg)}) EXECUTE FUNCTION case_cohort_updated()"
    )
    op.execute(
        'CREATE TRIGGER case_cohort_truncated AFTER TRUNCATE ON "case"'
        " FOR EACH STATEMENT EXECUTE FUNCTION case_cohort_truncated()"
    )


def _sqlite_upsert(r: str, sign: str = "") -> str:
    return (
        f"INSERT INTO case_cohort_day ({COLUMNS}) VALUES ({_row(r, 'sqlite', sign, named=False)})"
        f" ON CONFLICT (day, kind, path) DO UPDATE SET {ADD_SQLITE};"
    )


def _sqlite() -> None:
    op.execute(
        'CREATE TRIGGER case_cohort_inserted AFTER INSERT ON "case"'
        f" BEGIN {_sqlite_upsert('NEW.')} END"
    )
    op.execute(
        'CREATE TRIGGER case_cohort_deleted AFTER DELETE ON "case"'
        f" BEGIN {_sqlite_upsert('OLD.', '-')} END"
    )
    op.execute(
        f'CREATE TRIGGER case_cohort_updated AFTER UPDATE ON "case" WHEN {_moved("sqlite")}'
        f" BEGIN {_sqlite_upsert('OLD.', '-')} {_sqlite_upsert('NEW.')} END"
    )


def upgrade() -> None:
    op.create_table(
        "case_cohort_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(length=10), primary_key=True),
        sa.Column("path", sa.String(length=400), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
    )
    dialect = op.get_bind().dialect.name
    (_sqlite if dialect == "sqlite" else _postgresql)()
    op.execute(
        f"INSERT INTO case_cohort_day ({COLUMNS})"
        " SELECT day, kind, path, sum(n), sum(c), sum(cl), sum(o)"
        f' FROM (SELECT {_row("", dialect)} FROM "case") AS r'
        " GROUP BY day, kind, path"
    )


def downgrade() -> None:
    for name in ("inserted", "deleted", "updated", "truncated"):
        if op.get_bind().dialect.name == "sqlite":
            if name != "truncated":
                op.execute(f"DROP TRIGGER case_cohort_{name}")
        else:
            op.execute(f'DROP TRIGGER case_cohort_{name} ON "case"')
            op.execute(f"DROP FUNCTION case_cohort_{name}()")
    op.execute("DROP TABLE case_cohort_day")
