"""GET /metrics (api/routes/health.py): Prometheus text that a Prometheus parser reads, whose
figures follow requests, outbox messages and job runs; loopback or a bearer token only."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func
from sqlmodel import col, select

from api.app import create_app
from closeloop.config import get_settings
from closeloop.db import new_session
from models.enums import Channel, DeliveryStatus, JobStatus
from models.jobs import JobRun
from models.outbox import OutboxMessage


@pytest.fixture
def local(engine, clock):  # type: ignore[no-untyped-def]
    with TestClient(create_app(engine=engine, clock=clock), client=("127.0.0.1", 50123)) as c:
        yield c


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_request_counts_and_latencies_follow_requests(local):
    before = scrape(local)
    for _ in range(3):
        assert local.get("/healthz").status_code == 200
    local.get("/api/v1/cases/5")  # 401
    after = scrape(local)
    ok = {"method": "GET", "route": "/healthz", "status": "2xx"}
    assert (value(after, "closeloop_http_requests_total", **ok) or 0) - (
        value(before, "closeloop_http_requests_total", **ok) or 0
    ) == 3
    assert value(after, "closeloop_http_request_duration_seconds_count", **ok) == value(
        after, "closeloop_http_requests_total", **ok
    )
    assert value(after, "closeloop_http_request_duration_seconds_bucket", **ok, le="+Inf") == 3
    denied = {"method": "GET", "route": "/api/v1/cases/{case_id}", "status": "4xx"}
    assert value(after, "closeloop_http_requests_total", **denied) == 1
    assert (
        value(after, "closeloop_http_requests_total", method="GET", route="/metrics", status="2xx")
        == 1
    )  # the first scrape


def _message(n: int, channel: Channel, status: DeliveryStatus, created) -> OutboxMessage:  # type: ignore[no-untyped-def]
    return OutboxMessage(
        key=f"test-{channel}-{n}",
        channel=channel,
        recipient="x@example.org",
        event="test",
        subject="s",
        body="b",
        status=status,
        next_attempt_at=created,
        created_at=created,
    )


def test_outbox_depth_is_the_undelivered_count(local, engine, clock):
    now = clock.now()
    samples = scrape(local)
    assert value(samples, "closeloop_outbox_pending", channel="email") == 0
    assert value(samples, "closeloop_outbox_oldest_pending_age_seconds") == 0
    with new_session(engine) as s:
        for i in range(4):
            s.add(_message(i, Channel.email, DeliveryStatus.pending, now - timedelta(minutes=i)))
        s.add(_message(9, Channel.webhook, DeliveryStatus.pending, now - timedelta(hours=1)))
        s.add(_message(10, Channel.email, DeliveryStatus.sent, now - timedelta(days=3)))
        s.add(_message(11, Channel.email, DeliveryStatus.failed, now - timedelta(days=3)))
        s.commit()
        pending = s.exec(
            select(func.count()).where(col(OutboxMessage.status) == DeliveryStatus.pending)
        ).one()
    samples = scrape(local)
    depth = {
        ch.value: value(samples, "closeloop_outbox_pending", channel=ch.value) for ch in Channel
    }
    assert depth == {"email": 4, "webhook": 1, "inapp": 0}
    assert sum(depth.values()) == pending
    assert value(samples, "closeloop_outbox_oldest_pending_age_seconds") == pytest.approx(3600)


def test_job_runs_and_escalation_lag(local, engine, clock):
    now = clock.now()
    samples = scrape(local)
    assert value(samples, "closeloop_escalation_lag_seconds") is None  # never ran
    assert value(samples, "closeloop_job_overdue", job="escalation") == 0
    assert value(samples, "closeloop_healthy") == 1
    started = now - timedelta(minutes=7)
    with new_session(engine) as s:
        s.add(
            JobRun(
                name="escalation",
                holder="t",
                started_at=started - timedelta(hours=2),
                finished_at=started,
                status=JobStatus.ok,
            )
        )
        s.add(
            JobRun(
                name="escalation",
                holder="t",
                started_at=started,
                finished_at=started + timedelta(seconds=3),
                status=JobStatus.ok,
            )
        )
        s.add(
            JobRun(
                name="delivery",
                holder="t",
                started_at=now - timedelta(minutes=30),
                finished_at=now,
                status=JobStatus.failed,
            )
        )
        s.commit()
    samples = scrape(local)
    assert value(samples, "closeloop_escalation_lag_seconds") == pytest.approx(7 * 60)
    assert value(
        samples, "closeloop_job_last_success_timestamp_seconds", job="escalation"
    ) == pytest.approx(started.timestamp())
    assert value(samples, "closeloop_job_overdue", job="escalation") == 0
    # delivery runs every minute: a failure 30 minutes ago and no success since is overdue
    assert value(samples, "closeloop_job_last_success_timestamp_seconds", job="delivery") is None
    assert value(
        samples, "closeloop_job_last_run_timestamp_seconds", job="delivery"
    ) == pytest.approx((now - timedelta(minutes=30)).timestamp())
    assert value(samples, "closeloop_job_overdue", job="delivery") == 1
    assert value(samples, "closeloop_healthy") == 0
    assert value(samples, "closeloop_database_up") == 1
    assert value(samples, "closeloop_schema_current") == 1


def test_only_loopback_or_the_token_may_read(engine, clock, monkeypatch):
    app = create_app(engine=engine, clock=clock)
    with TestClient(app, client=("10.1.2.3", 40000)) as remote:
        r = remote.get("/metrics")
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        monkeypatch.setenv("CLOSELOOP_METRICS_TOKEN", "scrape-token-0123456789")
        get_settings.cache_clear()
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        scrape(remote, Authorization="Bearer scrape-token-0123456789")
    with TestClient(app, client=("::1", 40000)) as local6:
        assert local6.get("/metrics").status_code == 401  # with a token set, loopback needs it too
