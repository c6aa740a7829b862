"""The escalation flow also escalates the deadlines that are not a case's: a risk report not
reviewed in time (and a major hazard's notice not published in time) is notified once, however
often the flow runs; a dry run shows it and writes nothing."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from cli import main
from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.escalation import service
from closeloop.safety import risk_reports
from models.enums import CaseState
from models.escalation import DeadlineFire
from models.outbox import OutboxMessage
from models.risk import RiskReportCreate
from tests.factories import NOW, Org
from tests.safety.risk_factories import add_enterprise


@pytest.fixture
def pending(engine: Engine, org: Org):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        add_enterprise(s, "E1", "G1")
        data = RiskReportCreate(enterprise_code="E1", name="喷漆房", level="significant")  # type: ignore[arg-type]
        return risk_reports.create_report(s, actor=org["rep1"], data=data, now=NOW)


def _count(engine: Engine, model: type) -> int:
    with new_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_a_late_review_is_notified_once_by_the_flow(
    engine: Engine, pending, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", db_url)
    get_settings.cache_clear()
    before = (pending.review_due_at - timedelta(minutes=5)).isoformat()
    assert main(["escalate", "--now", before]) == 0
    assert json.loads(capsys.readouterr().out)["notifications"] == 0
    after = (pending.review_due_at + timedelta(hours=1)).isoformat()
    assert main(["escalate", "--now", after, "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["notifications"] == 1
    assert _count(engine, DeadlineFire) == 0  # the dry run wrote nothing
    assert main(["escalate", "--now", after]) == 0
    assert json.loads(capsys.readouterr().out)["notifications"] == 1
    assert _count(engine, DeadlineFire) == 1
    sent = _count(engine, OutboxMessage)
    assert main(["escalate", "--now", after]) == 0  # again: nothing fires twice
    assert json.loads(capsys.readouterr().out)["notifications"] == 0
    assert (_count(engine, DeadlineFire), _count(engine, OutboxMessage)) == (1, sent)


def test_the_in_session_run_counts_them_too(engine: Engine, pending) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        out = service.run(s, now=pending.review_due_at + timedelta(hours=1))
    assert out["notifications"] == 1


def test_an_unpublished_notice_is_notified_once_by_a_run(engine: Engine, org: Org) -> None:
    from tests.safety.test_dossier import listing_notice, major, plan

    with transaction(engine) as s:
        case = major(s, org, CaseState.rectifying)
        plan(s, org, case)
        notice = listing_notice(s, case.id)
        assert notice is not None
        late = notice.due_at + timedelta(hours=1)

    def fires() -> list[int]:
        with new_session(engine) as s:
            rows = s.exec(select(DeadlineFire).where(DeadlineFire.subject == "notice")).all()
            return [f.subject_id for f in rows]

    # The run also escalates the case itself; the notice's own claim is what is counted here.
    with transaction(engine) as s:
        service.run(s, now=notice.due_at)  # due, not yet late
    assert fires() == []
    with transaction(engine) as s:
        service.run(s, now=late)
    with transaction(engine) as s:
        service.run(s, now=late)
    assert fires() == [notice.id]
    with new_session(engine) as s:
        told = s.exec(select(OutboxMessage).where(OutboxMessage.event == "notice_overdue")).all()
    assert len({m.user_id for m in told}) == len(told) > 0  # each supervisor told once
