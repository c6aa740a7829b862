"""Delivery against real receivers: an SMTP server and an HTTP group robot on loopback.

Retries with back-off as a fixed clock advances, the failed state after the last attempt, a
refused recipient, a crash between sending and marking, and two runs at once.
"""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from closeloop.clock import FixedClock
from closeloop.config import Settings
from closeloop.db import new_session, transaction
from models.enums import Channel, DeliveryStatus
from models.org import Unit
from models.outbox import OutboxMessage
from notifications import channels, outbox
from tests.factories import NOW
from tests.notifications.delivering import Deliver, delivery_job
from tests.notifications.servers import Robot, SMTPServer, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deliver_due(monkeypatch: pytest.MonkeyPatch) -> Deliver:
    """The delivery flow with a test's settings."""
    return delivery_job(monkeypatch)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def robot() -> Iterator[Robot]:
    r = Robot()
    yield r
    r.close()


def settings_for(smtp_port: int = 0, **over: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port or free_port(),
        "smtp_tls": "none",
        "smtp_from": "notice@luohu.example",
        "smtp_timeout_seconds": 5,
        "webhook_timeout_seconds": 5,
        "delivery_backoff_seconds": 60,
        "delivery_max_attempts": 4,
        "delivery_claim_seconds": 120,
    }
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


def enqueue(
    engine, *, key: str = "case:1:v2:dispatch", email: str | None = None, webhook: str | None = None
) -> list[int]:
    """Messages for unit ZJ through the real service, committed; ids of those to deliver."""
    with transaction(engine) as s:
        unit = s.get(Unit, "ZJ")
        unit.email, unit.webhook_url = email, webhook
        added = outbox.notify_unit(
            s,
            unit_code="ZJ",
            event="dispatched",
            subject="新案件待签收：ZJ-1 / new case",
            body="请签收 / please sign for it",
            now=NOW,
            key=key,
            payload={"case_number": "SJ2025000001"},
        )
        return [m.id for m in added if m.channel != Channel.inapp]


def row(engine, msg_id: int) -> OutboxMessage:
    with new_session(engine) as s:
        return s.get(OutboxMessage, msg_id)


def test_email_is_sent_with_a_message_id_derived_from_its_key(engine, org, smtp, deliver_due):
    (msg_id,) = enqueue(engine, email="zj@luohu.example")
    settings = settings_for(smtp.port)
    assert deliver_due(engine, now=NOW, settings=settings) == {
        "claimed": 1,
        "sent": 1,
        "retrying": 0,
        "failed": 0,
    }
    sent = row(engine, msg_id)
    assert sent.status == DeliveryStatus.sent and sent.sent_at == NOW and sent.attempts == 1
    (mail,) = smtp.mailbox.messages
    assert mail["To"] == "zj@luohu.example" and mail["From"] == "notice@luohu.example"
    assert mail["Subject"] == "新案件待签收：ZJ-1 / new case"
    assert mail["X-Closeloop-Idempotency-Key"] == sent.key
    assert mail["Message-ID"] == channels.message_id(sent.key, "notice@luohu.example")
    assert "请签收" in mail.get_content()
    assert deliver_due(engine, now=NOW + timedelta(hours=1), settings=settings)["claimed"] == 0


def test_a_recipient_the_server_refuses_fails_at_once_and_is_never_marked_sent(
    engine, org, smtp, deliver_due
):
    smtp.mailbox.refuse["nobody@luohu.example"] = "550 5.1.1 <nobody@luohu.example>: no such user"
    (msg_id,) = enqueue(engine, email="nobody@luohu.example")
    counts = deliver_due(engine, now=NOW, settings=settings_for(smtp.port))
    assert counts == {"claimed": 1, "sent": 0, "retrying": 0, "failed": 1}
    failed = row(engine, msg_id)
    assert failed.status == DeliveryStatus.failed and failed.sent_at is None
    assert (
        failed.attempts == 1 and "550" in failed.last_error and "no such user" in failed.last_error
    )
    assert smtp.mailbox.messages == []


def test_a_temporary_refusal_is_retried(engine, org, smtp, deliver_due):
    smtp.mailbox.refuse["busy@luohu.example"] = "451 4.3.0 mailbox busy, try later"
    (msg_id,) = enqueue(engine, email="busy@luohu.example")
    settings = settings_for(smtp.port)
    assert deliver_due(engine, now=NOW, settings=settings)["retrying"] == 1
    waiting = row(engine, msg_id)
    assert waiting.status == DeliveryStatus.pending and "451" in waiting.last_error
    assert waiting.next_attempt_at == NOW + timedelta(seconds=60)
    del smtp.mailbox.refuse["busy@luohu.example"]
    assert deliver_due(engine, now=NOW + timedelta(seconds=60), settings=settings)["sent"] == 1
    assert len(smtp.mailbox.messages) == 1 and row(engine, msg_id).attempts == 2


def test_starttls_against_a_server_without_it_is_a_recorded_failure(engine, org, smtp, deliver_due):
    (msg_id,) = enqueue(engine, email="zj@luohu.example")
    deliver_due(engine, now=NOW, settings=settings_for(smtp.port, smtp_tls="starttls"))
    waiting = row(engine, msg_id)
    assert waiting.status == DeliveryStatus.pending and waiting.sent_at is None
    assert "STARTTLS" in waiting.last_error and smtp.mailbox.messages == []


def test_webhook_down_at_first_is_retried_with_backoff_then_delivered(
    engine, org, robot, deliver_due
):
    (msg_id,) = enqueue(engine, webhook=robot.url)
    settings = settings_for(delivery_backoff_seconds=60, delivery_max_attempts=5)
    clock = FixedClock(NOW)

    # Attempt 1: nothing listens on the port yet.
    assert deliver_due(engine, now=clock.now(), settings=settings)["retrying"] == 1
    first = row(engine, msg_id)
    assert first.status == DeliveryStatus.pending and first.attempts == 1
    assert "ConnectError" in first.last_error and first.claimed_until is None
    assert first.next_attempt_at == NOW + timedelta(seconds=60)

    clock.advance(seconds=59)  # not due yet: nothing is claimed
    assert deliver_due(engine, now=clock.now(), settings=settings)["claimed"] == 0

    # Attempt 2: the robot is up but answers 500.
    robot.up()
    robot.replies = [500]
    clock.advance(seconds=1)
    assert deliver_due(engine, now=clock.now(), settings=settings)["retrying"] == 1
    second = row(engine, msg_id)
    assert second.attempts == 2 and "HTTP 500" in second.last_error
    assert second.next_attempt_at == clock.now() + timedelta(seconds=120)  # doubled
    clock.advance(seconds=119)
    assert deliver_due(engine, now=clock.now(), settings=settings)["claimed"] == 0

    # Attempt 3: delivered.
    clock.advance(seconds=1)
    assert deliver_due(engine, now=clock.now(), settings=settings)["sent"] == 1
    done = row(engine, msg_id)
    assert done.status == DeliveryStatus.sent and done.sent_at == NOW + timedelta(seconds=180)
    assert done.attempts == 3 and "HTTP 500" in done.last_error  # the history stays readable
    assert len(robot.requests) == 2
    body = robot.requests[-1]["json"]
    assert body["msgtype"] == "text" and "新案件待签收" in body["text"]["content"]
    assert body["closeloop"]["idempotency_key"] == done.key
    assert body["closeloop"]["case_number"] == "SJ2025000001"
    assert body["closeloop"]["event"] == "dispatched"
    assert robot.keys() == [done.key, done.key]
    clock.advance(days=1)
    assert deliver_due(engine, now=clock.now(), settings=settings)["claimed"] == 0


def test_webhook_that_never_comes_back_fails_after_the_last_attempt(
    engine, org, robot, deliver_due
):
    robot.up()
    robot.default = 503
    (msg_id,) = enqueue(engine, webhook=robot.url)
    settings = settings_for(delivery_backoff_seconds=10, delivery_max_attempts=3)
    clock = FixedClock(NOW)
    seen = []
    for expected_wait in (10, 20):
        assert deliver_due(engine, now=clock.now(), settings=settings)["retrying"] == 1
        r = row(engine, msg_id)
        seen.append((r.attempts, r.next_attempt_at - clock.now()))
        assert r.status == DeliveryStatus.pending and r.sent_at is None
        clock.advance(seconds=expected_wait)
    assert seen == [(1, timedelta(seconds=10)), (2, timedelta(seconds=20))]
    assert deliver_due(engine, now=clock.now(), settings=settings)["failed"] == 1
    failed = row(engine, msg_id)
    assert failed.status == DeliveryStatus.failed and failed.attempts == 3
    assert failed.sent_at is None and "HTTP 503" in failed.last_error
    clock.advance(days=30)
    assert deliver_due(engine, now=clock.now(), settings=settings)["claimed"] == 0
    assert len(robot.requests) == 3


def test_a_robot_errcode_is_a_failure_not_a_send(engine, org, robot, deliver_due):
    """The robots answer 200 with an errcode; 93000 (WeCom: invalid webhook URL) is no send."""
    robot.up()
    robot.replies = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    (msg_id,) = enqueue(engine, webhook=robot.url)
    settings = settings_for()
    assert deliver_due(engine, now=NOW, settings=settings)["retrying"] == 1
    waiting = row(engine, msg_id)
    assert waiting.sent_at is None and "93000" in waiting.last_error
    assert deliver_due(engine, now=waiting.next_attempt_at, settings=settings)["sent"] == 1


def test_a_crash_between_sending_and_marking_resends_with_the_same_key(
    engine, org, robot, deliver_due, tmp_path
):
    """A real crash: the delivery process is killed after the robot received the POST and before
    it answered. The message stays pending under a claim that runs out; the next run sends it again
    with the same idempotency key, which the receiver sees twice."""
    robot.up()
    got, release = threading.Event(), threading.Event()

    def hold() -> int:
        got.set()
        release.wait(20)
        return 200

    robot.replies = [hold]
    (msg_id,) = enqueue(engine, webhook=robot.url)
    url = engine.url.render_as_string(hide_password=False)
    # The delivery job in a process of its own, as a deployment runs it: settings from the
    # environment, the database from CLOSELOOP_DATABASE_URL.
    script = (
        "import sys; from datetime import datetime; from workflows.flows import run_job;"
        "run_job('delivery', now=datetime.fromisoformat(sys.argv[1]))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CLOSELOOP_DATABASE_URL": url,
        "CLOSELOOP_WEBHOOK_TIMEOUT_SECONDS": "30",
        "CLOSELOOP_DELIVERY_CLAIM_SECONDS": "120",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([sys.executable, "-c", script, NOW.isoformat()], cwd=ROOT, env=env)
    try:
        assert got.wait(60), "the delivery process never reached the robot"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    orphan = row(engine, msg_id)
    assert orphan.status == DeliveryStatus.pending and orphan.sent_at is None
    assert orphan.claimed_until == NOW + timedelta(seconds=120)

    settings = settings_for(delivery_claim_seconds=120)
    # While the dead run's claim holds, nobody sends the message.
    assert deliver_due(engine, now=NOW + timedelta(seconds=60), settings=settings)["claimed"] == 0
    later = NOW + timedelta(seconds=121)
    assert deliver_due(engine, now=later, settings=settings)["sent"] == 1
    done = row(engine, msg_id)
    assert done.status == DeliveryStatus.sent and done.sent_at == later
    assert robot.keys() == [done.key, done.key]
    assert [r["json"]["closeloop"]["idempotency_key"] for r in robot.requests] == [done.key] * 2


def test_two_runs_at_once_never_send_one_message_twice(engine, org, robot, deliver_due):
    robot.up()

    def slow() -> int:
        threading.Event().wait(0.01)
        return 200

    robot.default = slow
    ids: list[int] = []
    for n in range(30):
        ids += enqueue(engine, key=f"case:{n}:v2:dispatch", webhook=robot.url)
    settings = settings_for()
    barrier = threading.Barrier(3)

    def run(_: int) -> dict:
        barrier.wait()
        return deliver_due(engine, now=NOW, settings=settings, limit=20)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, range(3)))
    assert sum(r["claimed"] for r in results) == 30
    assert sum(r["sent"] for r in results) == 30
    assert sorted(robot.keys()) == sorted(set(robot.keys())) and len(robot.keys()) == 30
    with new_session(engine) as s:
        statuses = s.exec(select(OutboxMessage.status).where(col(OutboxMessage.id).in_(ids))).all()
    assert set(statuses) == {DeliveryStatus.sent}


def test_a_long_message_is_clipped_for_the_robot_and_whole_under_closeloop(
    engine, org, robot, deliver_due
):
    robot.up()
    (msg_id,) = enqueue(engine, webhook=robot.url)
    long_body = "逾期案件清单 / overdue cases\n" + "东门路12号占道经营，逾期3个工作日；\n" * 200
    with transaction(engine) as s:
        s.get(OutboxMessage, msg_id).body = long_body
    assert deliver_due(engine, now=NOW, settings=settings_for())["sent"] == 1
    body = robot.requests[0]["json"]
    assert len(body["text"]["content"].encode()) <= channels.ROBOT_TEXT_BYTES
    assert body["text"]["content"].endswith("…") and body["closeloop"]["body"] == long_body


def test_without_an_smtp_server_configured_email_waits_visibly(engine, org, deliver_due):
    (msg_id,) = enqueue(engine, email="zj@luohu.example")
    assert deliver_due(engine, now=NOW, settings=settings_for(smtp_host=""))["retrying"] == 1
    waiting = row(engine, msg_id)
    assert waiting.status == DeliveryStatus.pending and "SMTP not configured" in waiting.last_error


def test_a_webhook_address_that_can_never_work_fails_at_once(engine, org, deliver_due):
    (msg_id,) = enqueue(engine, webhook="ftp://robot.luohu.example/send")
    assert deliver_due(engine, now=NOW, settings=settings_for())["failed"] == 1
    failed = row(engine, msg_id)
    assert failed.status == DeliveryStatus.failed and "UnsupportedProtocol" in failed.last_error
