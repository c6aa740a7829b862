"""Database leases: which process runs a scheduled job now (at most one per job).

A lease is a row of job_lease (name, holder, expires_at). It is taken by one atomic statement,

    INSERT … ON CONFLICT (name) DO UPDATE SET holder, expires_at
        WHERE job_lease.expires_at <= :now OR job_lease.holder = :holder
        RETURNING holder

which inserts a missing lease, takes over an expired one or extends one's own, and changes nothing
(returns no row) when another holder's lease is still running. PostgreSQL locks the conflicting row
and re-checks the WHERE, SQLite runs one writer at a time (BEGIN IMMEDIATE): two holders racing
for the same lease never both succeed. Like every service these take the session first and never
commit: the caller's transaction does (one short transaction per call, so the lease is visible
to the others at once).
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.jobs import JobLease


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(JobLease)
    if dialect == "sqlite":
        return sqlite.insert(JobLease)
    raise NotImplementedError(f"job leases need PostgreSQL or SQLite, not {dialect}")


def acquire(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease `name` for `holder` until now + ttl, if it is free, expired or already
    `holder`'s. True when `holder` has it now."""
    table = JobLease.__table__  # type: ignore[attr-defined]
    stmt = _insert(session).values(name=name, holder=holder, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=or_(table.c.expires_at <= now, table.c.holder == holder),
    ).returning(table.c.holder)
    # A row comes back when the lease was inserted or taken over; none when another holder's
    # lease still runs (rowcount is not reliable for an upsert on every driver).
    return session.connection().execute(stmt).first() is not None


def renew(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Extend `holder`'s lease to now + ttl. False when it is no longer theirs (it ran out and
    another holder took it)."""
    stmt = (
        update(JobLease)
        .where(col(JobLease.name) == name, col(JobLease.holder) == holder)
        .values(expires_at=now + ttl)
    )
    return bool(session.connection().execute(stmt).rowcount == 1)


def release(
    session: Session, *, name: str, holder: str, now: datetime, keep_until: datetime | None = None
) -> None:
    """Give the lease back. With `keep_until` later than `now` it stays `holder`'s until then
    (so a scheduler that fired the same slot a moment later skips it); otherwise it is removed.
    Someone else's lease is never touched."""
    mine = (col(JobLease.name) == name, col(JobLease.holder) == holder)
    if keep_until is not None and keep_until > now:
        session.connection().execute(update(JobLease).where(*mine).values(expires_at=keep_until))
    else:
        session.connection().execute(delete(JobLease).where(*mine))


def holder_of(session: Session, *, name: str, now: datetime) -> str | None:
    """Who holds the lease `name` at `now` (None when free or expired)."""
    row = session.exec(select(JobLease).where(col(JobLease.name) == name)).first()
    if row is None or row.expires_at <= now:
        return None
    return row.holder
