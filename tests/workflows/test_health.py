"""workflows/health.py: the summary behind /metrics and `closeloop status`."""

from datetime import UTC, datetime, timedelta

import pytest

from closeloop.db import make_engine, new_session
from models.enums import CaseState, JobStatus
from models.jobs import JobRun
from tests.factories import new_case
from workflows import health, lease
from workflows.jobs import Job

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, a Tuesday
EVERY_10 = Job(
    name="escalation", flow="escalation", cron="*/10 * * * *", description="", grace_seconds=300
)
WEEKLY = Job(
    name="report-weekly",
    flow="report_weekly",
    cron="0 8 * * mon",
    description="",
    grace_seconds=3600,
)


def run(engine, name: str, started: datetime, status: JobStatus = JobStatus.ok) -> None:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        s.add(
            JobRun(
                name=name,
                holder="t",
                started_at=started,
                status=status,
                finished_at=None if status == JobStatus.running else started,
            )
        )
        s.commit()


def test_a_new_installation_is_healthy_and_says_never_run(engine):
    h = health.summary(engine, NOW, jobs=(EVERY_10, WEEKLY))
    assert h.healthy, h.problems
    assert h.database_ok and h.schema_current
    assert [j.never_run for j in h.jobs] == [True, True]
    assert h.escalation_lag_seconds is None and h.outbox_pending == 0
    assert "never run" in health.render_text(h)


def test_overdue_against_the_cron(engine):
    jobs = (EVERY_10, WEEKLY)
    run(engine, "escalation", NOW - timedelta(minutes=14))  # 09:46 → next slot 09:50
    h = health.summary(engine, NOW, jobs=jobs)  # 10:00 < 09:50 + 5 min grace? no: 09:55
    esc = h.job("escalation")
    assert esc is not None and esc.overdue
    assert esc.next_due_at == NOW - timedelta(minutes=10)
    assert h.escalation_lag_seconds == 14 * 60
    # the weekly report never ran, but since the first run recorded (09:46 today, a Tuesday)
    # no Monday 08:00 came: not overdue
    weekly = h.job("report-weekly")
    assert weekly is not None and not weekly.overdue and weekly.never_run
    assert weekly.next_due_at == datetime(2025, 10, 6, 0, 0, tzinfo=UTC)  # Mon 08:00 Shanghai
    assert not h.healthy and any("escalation overdue" in p for p in h.problems)
    assert "OVERDUE" in health.render_text(h)

    run(engine, "escalation", NOW - timedelta(minutes=4))  # 09:56 ok → next slot 10:00
    h = health.summary(engine, NOW, jobs=jobs)
    assert not h.job("escalation").overdue and h.healthy  # type: ignore[union-attr]
    later = NOW + timedelta(minutes=5, seconds=1)
    assert health.summary(engine, later, jobs=jobs).job("escalation").overdue  # type: ignore[union-attr]
    # a run started at the slot is not overdue while it holds the lease it keeps renewing;
    # past its lease with nobody renewing it, it is (a lost run)
    run(engine, "escalation", NOW + timedelta(seconds=1), JobStatus.running)
    assert health.summary(engine, later, jobs=jobs).job("escalation").overdue  # type: ignore[union-attr]
    with new_session(engine) as s:
        assert lease.acquire(s, name="escalation", holder="t", now=later, ttl=timedelta(seconds=60))
        s.commit()
    assert not health.summary(engine, later, jobs=jobs).job("escalation").overdue  # type: ignore[union-attr]
    # ... a failed one is
    run(engine, "escalation", NOW + timedelta(seconds=2), JobStatus.failed)
    assert health.summary(engine, later, jobs=jobs).job("escalation").overdue  # type: ignore[union-attr]


def test_a_job_never_run_while_others_ran_is_overdue(engine):
    run(engine, "report-weekly", NOW - timedelta(days=2))  # the scheduler ran something Sunday
    h = health.summary(engine, NOW, jobs=(EVERY_10, WEEKLY))
    assert h.job("escalation").overdue  # type: ignore[union-attr]


def test_open_cases_past_deadline_since_the_last_run(engine, org):
    with new_session(engine) as s:
        for due in (NOW - timedelta(hours=5), NOW - timedelta(minutes=5), NOW + timedelta(days=1)):
            case = new_case(s, org)
            case.state, case.due_at = CaseState.rectifying, due
        closed = new_case(s, org)
        closed.state, closed.due_at = CaseState.closed, NOW - timedelta(minutes=1)
        s.commit()
    assert health.summary(engine, NOW, jobs=(EVERY_10,)).escalation_unseen_overdue == 2
    run(engine, "escalation", NOW - timedelta(minutes=10))  # saw the first, not the second
    assert health.summary(engine, NOW, jobs=(EVERY_10,)).escalation_unseen_overdue == 1


def test_an_unreachable_database_is_reported_not_raised(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    h = health.summary(engine, NOW)
    assert not h.database_ok and not h.healthy
    assert "unreachable" in h.problems[0]
    assert "UNREACHABLE" in health.render_text(h)
    assert h.as_dict()["healthy"] is False


def test_an_unmigrated_database_is_behind(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    h = health.summary(engine, NOW)
    assert h.database_ok and not h.schema_current and not h.healthy
    assert h.schema_head and h.schema_revision == []


@pytest.mark.parametrize("age_minutes, healthy", [(30, True), (180, False)])
def test_an_old_undelivered_message_is_unhealthy(engine, age_minutes, healthy):
    from models.enums import Channel, DeliveryStatus
    from models.outbox import OutboxMessage

    created = NOW - timedelta(minutes=age_minutes)
    with new_session(engine) as s:
        s.add(
            OutboxMessage(
                key="k1",
                channel=Channel.email,
                recipient="a@b.c",
                event="e",
                subject="s",
                body="b",
                status=DeliveryStatus.pending,
                next_attempt_at=created,
                created_at=created,
            )
        )
        s.commit()
    h = health.summary(engine, NOW, jobs=())
    assert h.outbox_oldest_age_seconds == age_minutes * 60
    assert h.healthy is healthy
