"""Emergency information within 30 minutes (紧急信息30分钟直达): who is alerted on which channel,
the first delivery recorded, and the figures — on both databases, with a real SMTP server and a
group robot on loopback as the delivery tests use."""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, select

from closeloop.db import new_session, transaction
from closeloop.org import service as org_service
from closeloop.reports.metrics import service as metrics
from models.case import Case
from models.enums import Channel, DeliveryStatus, Role
from models.org import CategoryUpdate
from models.outbox import OutboxMessage
from models.user import User
from notifications import emergency as alerts
from tests.escalation.escalation_helpers import sh
from tests.factories import NOW, new_case, password_hash
from tests.notifications.delivering import Deliver, delivery_job
from tests.notifications.servers import Robot, SMTPServer

FILED = sh("2025-11-07", 22)  # Friday 22:00: quiet time, which an emergency ignores


@pytest.fixture
def deliver_due(monkeypatch: pytest.MonkeyPatch) -> Deliver:
    return delivery_job(monkeypatch)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def robot() -> Iterator[Robot]:
    r = Robot()
    r.up()
    yield r
    r.close()


def _people(engine: Engine, robot_url: str) -> dict[str, int]:
    """sup (district D1) gets an email address; sup_s1 (street S1) an address and a robot."""
    with transaction(engine) as s:
        sup = s.exec(select(User).where(User.username == "sup")).one()
        sup.email = "leader@luohu.example"
        street = User(
            username="sup_s1",
            display_name="东门街道督办",
            role=Role.supervisor,
            region_code="S1",
            email="dongmen@luohu.example",
            webhook_url=robot_url,
            password_hash=password_hash(),
            created_at=NOW,
        )
        s.add(street)
        s.flush()
        assert sup.id is not None and street.id is not None
        return {"sup": sup.id, "sup_s1": street.id}


def _emergency_messages(engine: Engine, case_id: int) -> list[OutboxMessage]:
    with new_session(engine) as s:
        return list(
            s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.case_id == case_id, OutboxMessage.event == "emergency")
                .order_by(col(OutboxMessage.id))
            )
        )


def _settings(smtp: SMTPServer) -> object:
    from closeloop.config import Settings

    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        smtp_from="notice@luohu.example",
        smtp_timeout_seconds=5,
        webhook_timeout_seconds=5,
    )


def test_urgent_event_alerts_every_channel_and_records_the_first_delivery(
    engine: Engine, org, smtp: SMTPServer, robot: Robot, deliver_due: Deliver
) -> None:  # type: ignore[no-untyped-def]
    ids = _people(engine, robot.url)
    with transaction(engine) as s:
        case = new_case(s, org, now=FILED, urgent=True)  # grid G1 under S1, D1
        assert case.emergency and case.id is not None
        case_id = case.id
    messages = _emergency_messages(engine, case_id)
    got = {(m.channel, m.user_id) for m in messages}
    assert got == {
        (Channel.inapp, ids["sup"]),
        (Channel.email, ids["sup"]),
        (Channel.inapp, ids["sup_s1"]),
        (Channel.email, ids["sup_s1"]),
        (Channel.webhook, ids["sup_s1"]),
    }  # sup_s2 (street S2) does not cover the place
    assert all(m.next_attempt_at == FILED for m in messages)  # never held by quiet hours
    assert "紧急信息" in messages[0].subject
    with new_session(engine) as s:
        row = s.get(Case, case_id)
        assert row is not None and row.alerted_at is None  # in-app is not a delivery

    delivered_at = FILED + timedelta(minutes=12)
    counts = deliver_due(engine, now=delivered_at, settings=_settings(smtp))
    assert counts["sent"] == 3
    assert sorted(str(m["To"]) for m in smtp.mailbox.messages) == [
        "dongmen@luohu.example",
        "leader@luohu.example",
    ]
    assert len(robot.requests) == 1
    with new_session(engine) as s:
        row = s.get(Case, case_id)
        assert row is not None and row.alerted_at == delivered_at
    # A later delivery of the same case does not move the first one.
    with transaction(engine) as s:
        email = next(m for m in messages if m.channel == Channel.email)
        alerts.delivered(s, msg=email, now=delivered_at + timedelta(hours=1))
    with new_session(engine) as s:
        row = s.get(Case, case_id)
        assert row is not None and row.alerted_at == delivered_at
    assert all(m.status == DeliveryStatus.sent for m in _emergency_messages(engine, case_id))


def test_emergency_category_and_routine_cases(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        org_service.update_category(s, code="02", data=CategoryUpdate(emergency=True))
        routine = new_case(s, org, now=FILED, category="0101")
        flagged = new_case(s, org, now=FILED, category="0201")  # an item of the class "02"
        assert not routine.emergency and flagged.emergency and not flagged.urgent
        ids = (routine.id or 0, flagged.id or 0)
    assert _emergency_messages(engine, ids[0]) == []
    assert {m.channel for m in _emergency_messages(engine, ids[1])} == {Channel.inapp}


def test_category_api_takes_the_flag(client, auth, org) -> None:  # type: ignore[no-untyped-def]
    r = client.patch("/api/v1/categories/0201", json={"emergency": True}, headers=auth("admin"))
    assert r.status_code == 200 and r.json()["emergency"] is True
    r = client.patch("/api/v1/categories/0201", json={"emergency": None}, headers=auth("admin"))
    assert r.status_code == 422
    r = client.get("/api/v1/categories", headers=auth("admin"))
    assert {c["code"]: c["emergency"] for c in r.json()}["0201"] is True


def test_metrics_median_and_share(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    filed = sh("2025-11-03", 10)
    as_of = sh("2025-11-03", 12)
    alerted = [
        filed + timedelta(minutes=10),  # within 30 minutes
        filed + timedelta(minutes=40),  # late
        None,  # never delivered (no channel)
        filed + timedelta(hours=3),  # delivered after the report time: not yet at T
    ]
    with transaction(engine) as s:
        new_case(s, org, now=filed)  # a routine case: not counted
        for at in alerted:
            case = new_case(s, org, now=filed, urgent=True)
            s.execute(update(Case).where(col(Case.id) == case.id).values(alerted_at=at))
    with new_session(engine) as s:
        report = metrics.compute(
            s,
            actor=org["admin"],
            date_from=date(2025, 11, 3),
            date_to=date(2025, 11, 3),
            now=sh("2025-11-04", 10),
            as_of=as_of,
        )
    t = report.total
    assert t.emergencies == 4
    assert t.emergency_alerted == 2
    assert t.emergency_alert_median_minutes == 25.0  # (10 + 40) / 2
    assert t.emergency_alerted_within_30m == 1
    assert t.emergency_within_30m_rate == 0.25


def test_the_reports_sentence_says_how_many_the_median_is_of() -> None:
    from closeloop.reports import emergency as words
    from models.metrics import Metrics

    m = Metrics(
        emergencies=14,
        emergency_alerted=2,
        emergency_alert_median_minutes=24.5,
        emergency_alerted_within_30m=1,
        emergency_within_30m_rate=0.0714,
    )
    assert words.sentence(m) == (
        "紧急信息14件，截至统计时点已送达2件，中位送达时间24.5分钟，30分钟内送达1件，"
        "30分钟内送达率7.14%。"
    )
    none = Metrics(emergencies=3, emergency_within_30m_rate=0.0)
    assert words.sentence(none) == (
        "紧急信息3件，截至统计时点均未送达推送通知，30分钟内送达0件，30分钟内送达率0.00%。"
    )
    assert words.sentence(Metrics()) == "本期无紧急信息。"
