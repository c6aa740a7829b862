"""What the guard tests share: a refused action must change nothing (`refused`), and the call
of an action not yet made (`perform`)."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.cases import service as cases
from closeloop.errors import DomainError
from models.case import ActionInput, Case, CaseRequest
from models.history import CaseHistory
from tests.factories import NOW, Org


def history_of(session: Session, case: Case) -> list[CaseHistory]:
    return list(
        session.exec(
            select(CaseHistory).where(CaseHistory.case_id == case.id).order_by(col(CaseHistory.seq))
        )
    )


def snapshot(session: Session, case: Case) -> dict[str, Any]:
    """What a refused action must leave alone. Counting history autoflushes anything dirty."""
    count = session.exec(
        select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == case.id)
    ).one()
    requests = session.exec(
        select(func.count()).select_from(CaseRequest).where(CaseRequest.case_id == case.id)
    ).one()
    fields = (
        "state",
        "version",
        "unit_code",
        "dispatched_at",
        "due_at",
        "deadline_version",
        "sign_due_at",
        "listed",
        "merged_into_id",
        "closed_at",
        "cancelled_at",
        "rework_count",
        "submitted_at",
    )
    return {"history": count, "requests": requests} | {f: getattr(case, f) for f in fields}


def refused(
    session: Session, case: Case, error: type[DomainError], call: Callable[[], object]
) -> DomainError:
    before = snapshot(session, case)
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value.detail}"
    assert snapshot(session, case) == before, "a refused action changed the case"
    return info.value


def perform(
    session: Session, org: Org, case: Case, action: str, by: str, now=NOW, **data: object
) -> Callable[[], Case]:
    """The call, not yet made (for `refused`)."""
    assert case.id is not None
    return lambda: cases.perform(
        session, actor=org[by], case_id=case.id, action=action, data=ActionInput(**data), now=now
    )
