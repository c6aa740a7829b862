"""The demo's co-handled cases (主办/协办), made through the services: an event at a road's edge led
by 城管 (CG) with 水务 (SW) assisting — one whose task was done and the case closed, one whose
task is still open and overdue — and one led by CG where the dispatcher waived 住建's (ZJ) task."""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.cases import tasks
from closeloop.demo import data as D
from models.case import ActionInput, Case, CaseCreate
from models.enums import CaseKind
from models.task import CaseTask, TaskActionInput
from models.user import User

WORKER = "lh-wg01"


def _file(session: Session, worker: Principal, title: str, at: datetime) -> Case:
    grid = session.exec(select(User.region_code).where(User.username == WORKER)).one()
    return cases.file_case(
        session,
        actor=worker,
        now=at,
        data=CaseCreate(
            kind=CaseKind.event,
            title=title,
            description=f"{title}，需城管与相关部门协同处置。",
            category_code="0101",
            grid_code=grid or "",
            address="东门北路",
        ),
    )


def _do(session: Session, who: Principal, case: Case, action: str, at: datetime, **data) -> None:  # type: ignore[no-untyped-def]
    cases.perform(
        session, actor=who, case_id=case.id or 0, action=action, data=ActionInput(**data), now=at
    )


def _task(session: Session, who: Principal, case: Case, action: str, at: datetime, **data) -> None:  # type: ignore[no-untyped-def]
    task = session.exec(select(CaseTask).where(CaseTask.case_id == case.id)).one()
    tasks.act(
        session,
        actor=who,
        case_id=case.id or 0,
        task_id=task.id or 0,
        action=action,
        data=TaskActionInput(**data),
        now=at,
    )


def load_cohandling(session: Session, *, now: datetime, people: dict[str, Principal]) -> list[Case]:
    """Three co-handled cases (see the module's docstring)."""
    worker, desk = people[WORKER], people[D.DISPATCHER[0]]
    lead, water, build = (people[D.HANDLERS[u][0]] for u in ("CG", "SW", "ZJ"))
    day = now.replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 Shanghai

    done = _file(session, worker, "东门北路雨后积水占道", day - timedelta(days=14))
    at = day - timedelta(days=14, hours=-1)
    _do(session, desk, done, "dispatch", at, unit_code="CG", assist_unit_codes=["SW"])
    _do(session, lead, done, "sign", at + timedelta(minutes=40))
    _task(session, water, done, "sign", at + timedelta(hours=1))
    _task(session, water, done, "complete", at + timedelta(days=1), note="已疏通雨水篦子及管网")
    _do(session, lead, done, "submit", at + timedelta(days=1, hours=3), note="占道物品已清理")
    _do(session, desk, done, "approve", at + timedelta(days=2))

    late = _file(session, worker, "湖贝路人行道积水并有摊贩占道", day - timedelta(days=9))
    at = day - timedelta(days=9, hours=-1)
    # The lead unit has 10 working days (its case is not late); the assisting unit's 3 are past.
    _do(
        session, desk, late, "dispatch", at, unit_code="CG", limit_days=10, assist_unit_codes=["SW"]
    )
    _do(session, lead, late, "sign", at + timedelta(minutes=30))

    waived = _file(session, worker, "围挡外侧堆放建筑材料占道", day - timedelta(days=4))
    at = day - timedelta(days=4, hours=-1)
    _do(session, desk, waived, "dispatch", at, unit_code="CG", assist_unit_codes=["ZJ"])
    _do(session, lead, waived, "sign", at + timedelta(minutes=20))
    _task(session, build, waived, "sign", at + timedelta(hours=1))
    _task(
        session,
        desk,
        waived,
        "waive",
        at + timedelta(hours=3),
        reason="施工单位已自行清运，无需住建配合",
    )
    return [done, late, waived]
