"""History entries carry the case as it stood after them (due_at, dispatched_at, closed_at,
listed, unit_code), so that a report of a closed period is computed from the history as of its
end (closeloop/reports/metrics/asof.py) and gives the same figures however often it is regenerated.

Existing rows are filled by replaying each case's entries in order: dispatch, extension, resume,
reopen and reject data carry the deadline; return clears deadline, unit, dispatch and listing;
`list` entries and a dispatch with `listed` set the listing; approve sets closed_at, reopen
clears it; a letter's `issue` dispatches it; an `import` entry takes the case's ledger columns.

Revision ID: 0005_history_snapshot
Revises: 0004_fk_indexes
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005_history_snapshot"
down_revision: str | None = "0004_fk_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
COLUMNS = ("due_at", "dispatched_at", "closed_at", "listed", "unit_code")


def upgrade() -> None:
    with op.batch_alter_table("case_history") as batch:
        batch.add_column(
            sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("dispatched_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("listed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("unit_code", sa.String(length=40), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("case_history") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)


def _tables() -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData()
    t = models.types.UTCDateTime(timezone=True)
    history = sa.Table(
        "case_history",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer),
        sa.Column("seq", sa.Integer),
        sa.Column("action", sa.String),
        sa.Column("at", t),
        sa.Column("data", sa.JSON),
        sa.Column("due_at", t),
        sa.Column("dispatched_at", t),
        sa.Column("closed_at", t),
        sa.Column("listed", sa.Boolean),
        sa.Column("unit_code", sa.String),
    )
    case = sa.Table(
        "case",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_code", sa.String),
        sa.Column("due_at", t),
        sa.Column("dispatched_at", t),
        sa.Column("closed_at", t),
        sa.Column("cancelled_at", t),
        sa.Column("listed", sa.Boolean),
    )
    return history, case


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _step(state: dict[str, Any], row: Any, ledger: Any) -> dict[str, Any]:
    """The snapshot after one entry, from the snapshot before it."""
    action, data = row.action, row.data or {}
    s = dict(state)
    if action == "import":
        s = {
            "due_at": ledger.due_at,
            "dispatched_at": ledger.dispatched_at,
            "closed_at": ledger.closed_at or ledger.cancelled_at,
            "listed": bool(ledger.listed),
            "unit_code": ledger.unit_code,
        }
    elif action == "dispatch":
        s.update(
            due_at=_time(data.get("due_at")), dispatched_at=row.at, unit_code=data.get("unit_code")
        )
        s["listed"] = bool(s["listed"] or data.get("listed"))
    elif action == "issue":  # a letter's own case is dispatched to the letter's unit
        s.update(due_at=_time(data.get("due_at")), dispatched_at=row.at, unit_code=ledger.unit_code)
    elif action == "return":
        s.update(due_at=None, dispatched_at=None, unit_code=None, listed=False)
    elif action in ("approve_extension", "resume", "reject"):
        if data.get("due_at"):
            s["due_at"] = _time(data["due_at"])
    elif action == "reopen":
        s["closed_at"] = None
        if data.get("due_at"):
            s["due_at"] = _time(data["due_at"])
    elif action == "approve":
        s["closed_at"] = row.at
    elif action == "list":
        s["listed"] = True
    return s


def _backfill(bind: sa.engine.Connection) -> None:
    history, case = _tables()
    ledgers = {r.id: r for r in bind.execute(sa.select(case))}
    rows = bind.execute(
        sa.select(
            history.c.id, history.c.case_id, history.c.action, history.c.at, history.c.data
        ).order_by(history.c.case_id, history.c.seq)
    )
    updates: list[dict[str, Any]] = []
    current: int | None = None
    state: dict[str, Any] = {}
    for row in rows.all():
        if row.case_id != current:
            current = row.case_id
            state = {
                "due_at": None,
                "dispatched_at": None,
                "closed_at": None,
                "listed": False,
                "unit_code": None,
            }
        state = _step(state, row, ledgers.get(row.case_id))
        updates.append({"hid": row.id, **{f"v_{k}": v for k, v in state.items()}})
    stmt = (
        history.update()
        .where(history.c.id == sa.bindparam("hid"))
        .values({k: sa.bindparam(f"v_{k}") for k in COLUMNS})
    )
    for start in range(0, len(updates), BATCH):
        bind.execute(stmt, updates[start : start + BATCH])
