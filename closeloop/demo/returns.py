"""The demo's return review (派单异议审核) and re-dispatch (改派), made through the services.

`load_returns`: a broken shop sign returned by the city-management bureau (CG), sent to it again by
the desk, whose return request the supervisor refused (a return refused: the case stays with CG,
its clock running); garbage found inside a building site, whose return CG asked for after signing
and the supervisor granted (dispatched afterwards to the construction bureau, ZJ); and a road
occupation the desk re-dispatched from the Dongmen street office to CG."""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases import reasons
from closeloop.cases import service as cases
from closeloop.demo import data as D
from models.case import ActionInput, Case, CaseCreate
from models.enums import CaseKind

GRID = "44030300300101"  # 湖贝社区第一网格 (lh-wg01)
DESK, BOSS, WORKER = D.DISPATCHER[0], D.SUPERVISOR[0], "lh-wg01"


def load_returns(session: Session, *, now: datetime, people: dict[str, Principal]) -> None:
    reasons.ensure_usual(session)
    # Recent (the afternoon before `now`), so that no deadline of theirs has passed at `now`:
    # the demo's escalation history is played before these are loaded.
    _refused(session, now - timedelta(hours=20), people)
    _granted(session, now - timedelta(hours=22), people)
    _redispatched(session, now - timedelta(hours=21), people)


def _refused(session: Session, at: datetime, people: dict[str, Principal]) -> None:
    case = _file(session, people, at, "0105", "湖贝路 18 号户外招牌破损", "招牌边框脱落，悬挂不稳")
    step = _stepper(session, people, case, at)
    step(0.5, DESK, "dispatch", unit_code="CG")
    step(
        1,
        "lh-cg",
        "return",
        reason="招牌属建筑附属设施，应由住建部门处理",
        reason_code="not_ours",
    )
    step(1.5, DESK, "dispatch", unit_code="CG", note="户外招牌设置管理属城管职责，请办理")
    step(
        2,
        "lh-cg",
        "request_return",
        reason="该招牌系建筑外立面构件，仍认为不属本单位职责",
        reason_code="not_ours",
    )
    step(3, BOSS, "reject_return", reason="户外招牌设置与安全管理属城管职责，请继续办理")
    step(3.5, "lh-cg", "sign")


def _granted(session: Session, at: datetime, people: dict[str, Principal]) -> None:
    case = _file(session, people, at, "0103", "湖贝古村工地内暴露垃圾", "围挡内堆放建筑垃圾")
    step = _stepper(session, people, case, at)
    step(0.5, DESK, "dispatch", unit_code="CG")
    step(1, "lh-cg", "sign")
    step(
        2,
        "lh-cg",
        "request_return",
        reason="现场核实垃圾位于在建工地围挡内，属施工单位管理，应由住建部门督促清理",
        reason_code="not_ours",
    )
    step(3, BOSS, "approve_return", note="同意退回，由受理派遣改派住建")
    step(3.5, DESK, "dispatch", unit_code="ZJ", note="工地内建筑垃圾，请督促施工单位清理")
    step(4, "lh-zj", "sign")


def _redispatched(session: Session, at: datetime, people: dict[str, Principal]) -> None:
    case = _file(session, people, at, "0101", "东门中路占道经营", "流动摊贩占用人行道经营")
    step = _stepper(session, people, case, at)
    step(0.5, DESK, "dispatch", unit_code="JD-DM")
    step(1.5, DESK, "redispatch", unit_code="CG", reason="占道经营执法属城管职责，改派城管")
    step(2, "lh-cg", "sign")


def _file(
    session: Session,
    people: dict[str, Principal],
    at: datetime,
    category: str,
    title: str,
    description: str,
) -> Case:
    return cases.file_case(
        session,
        actor=people[WORKER],
        now=at,
        data=CaseCreate(
            kind=CaseKind.event,
            title=title,
            description=description,
            category_code=category,
            grid_code=GRID,
            address=title,
        ),
    )


def _stepper(
    session: Session, people: dict[str, Principal], case: Case, at: datetime
) -> Callable[..., None]:
    """step(hours after filing, who, action, **input) through cases.perform."""

    def step(hours: float, who: str, action: str, **data: object) -> None:
        cases.perform(
            session,
            actor=people[who],
            case_id=case.id or 0,
            action=action,
            data=ActionInput.model_validate(data),
            now=at + timedelta(hours=hours),
        )

    return step
