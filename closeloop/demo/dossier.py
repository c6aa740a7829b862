"""The demo's major-hazard dossier (重大事故隐患挂牌督办), made through the services.

`load_dossier`: a major hazard at 渔邨冷链仓储 (E-NH-001) closed after a passing recheck, with both
its notices published, and a listed one at 老围危险化学品经营部 (E-GY-001) with its 五到位 plan
and its published listing notice (notices are published in time order, after the walk's, so their
numbers follow the order of publication). `around_step`: the case walk's major hazards keep the dossier
too — the handler's plan when signing for it, the supervisor's recheck before approving or
rejecting, and each notice published when it falls due."""

import io
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.cases import attachments
from closeloop.cases import service as cases
from closeloop.cases.listing import listed_for_itself
from closeloop.demo import data as D
from closeloop.safety import notices, plans, rechecks
from models.case import ActionInput, Case, CaseCreate
from models.dossier import HazardPlan, Notice, PlanIn, RecheckIn
from models.enums import CaseKind, CaseState, Grade, RecheckResult

SUPERVISOR = D.SUPERVISOR[0]


def _plan(session: Session, case: Case, handler: Principal, at: datetime) -> None:
    due = case.due_at or at
    plans.submit_plan(
        session,
        actor=handler,
        case_id=case.id or 0,
        now=at,
        data=PlanIn(
            measures="立即停止违规作业，清理现场；按规范整改设施，加装监测报警装置；"
            "整改完成前落实专人巡查。",
            funds="8 万元，由企业自筹",
            responsible="企业主要负责人",
            deadline=max(due, at).date(),
            emergency_plan="划定警戒区域，配备应急器材；发生泄漏或险情立即疏散人员并报告"
            "街道和区应急管理局。",
        ),
    )


def _publish_due(session: Session, case: Case, boss: Principal, at: datetime) -> None:
    """Publish the case's notices that are due at `at` — or just after the latest notice
    published, so that the numbers follow the order of publication."""
    last = session.exec(select(func.max(Notice.published_at))).one()
    if last is not None and last >= at:
        at = last + timedelta(seconds=1)
    rows = session.exec(
        select(Notice).where(Notice.case_id == case.id, col(Notice.published_at).is_(None))
    )
    for notice in list(rows):
        if notice.type == "delisting" and case.state != CaseState.closed:
            continue
        notices.publish_notice(session, actor=boss, notice_id=notice.id or 0, now=at)


def around_step(
    session: Session,
    people: dict[str, Principal],
    *,
    step: str,
    case: Case,
    actor: Principal,
    at: datetime,
    after: bool,
) -> None:
    """Called by the walk before and after each step of a case (a no-op but for major hazards)."""
    if not listed_for_itself(case.kind, case.grade):
        return
    boss = people[SUPERVISOR]
    if after:
        if step == "sign":  # the plan follows the signing, and its listing notice
            _plan(session, case, actor, at)
        _publish_due(session, case, boss, at)
        return
    if step.startswith("submit"):
        planned = session.exec(select(HazardPlan.id).where(HazardPlan.case_id == case.id)).first()
        if planned is None:
            _plan(session, case, actor, at)
            _publish_due(session, case, boss, at)
    elif step in ("approve", "reject") and case.state == CaseState.verifying:
        passed = step == "approve"
        rechecks.record_recheck(
            session,
            actor=boss,
            case_id=case.id or 0,
            now=at - timedelta(minutes=30),
            data=RecheckIn(
                result=RecheckResult.pass_ if passed else RecheckResult.fail,
                note="现场复查，整改到位" if passed else "现场复查，整改未到位，需返工",
            ),
        )


def _act(session: Session, who: Principal, case: Case, action: str, at: datetime, **kw: object):  # type: ignore[no-untyped-def]
    return cases.perform(
        session, actor=who, case_id=case.id or 0, action=action, data=ActionInput(**kw), now=at
    )


def _hazard(
    session: Session,
    people: dict[str, Principal],
    *,
    enterprise: str,
    title: str,
    category: str,
    at: datetime,
) -> Case:
    desk = people[D.DISPATCHER[0]]
    case = cases.file_case(
        session,
        actor=desk,
        now=at,
        data=CaseCreate(
            kind=CaseKind.hazard,
            grade=Grade.major,
            title=title,
            description=f"{title}，经检查认定为重大事故隐患。",
            category_code=category,
            enterprise_code=enterprise,
        ),
    )
    _act(session, desk, case, "dispatch", at + timedelta(hours=1), unit_code="YJ", limit_days=20)
    return case


def load_dossier(session: Session, *, now: datetime, people: dict[str, Principal]) -> list[Case]:
    """Two major hazards with their dossiers (see the module's docstring)."""
    handler, boss = people[D.HANDLERS["YJ"][0]], people[SUPERVISOR]
    day = now.replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 Shanghai
    closed = _hazard(
        session,
        people,
        enterprise="E-NH-001",
        title="冷库有限空间作业未执行审批和通风检测",
        category="0304",
        at=day - timedelta(days=14),
    )
    _act(session, handler, closed, "sign", day - timedelta(days=14, hours=-2))
    _plan(session, closed, handler, day - timedelta(days=13))
    _publish_due(session, closed, boss, day - timedelta(days=12))
    photo = attachments.add_attachment(
        session,
        actor=handler,
        case_id=closed.id or 0,
        filename="整改后照片.png",
        stream=io.BytesIO(D.AFTER_PHOTOS[0]),
        now=day - timedelta(days=8),
    )
    _act(
        session,
        handler,
        closed,
        "submit",
        day - timedelta(days=8),
        note="已建立有限空间作业审批制度，配备气体检测仪和通风设备",
        attachment_ids=[photo.id],
    )
    rechecks.record_recheck(
        session,
        actor=boss,
        case_id=closed.id or 0,
        now=day - timedelta(days=6),
        data=RecheckIn(result=RecheckResult.pass_, note="现场复查，审批制度和检测设备已落实"),
    )
    _act(session, boss, closed, "approve", day - timedelta(days=6, hours=-1), note="同意销号")
    _publish_due(session, closed, boss, day - timedelta(days=5))
    listed = _hazard(
        session,
        people,
        enterprise="E-GY-001",
        title="危险化学品仓库超量储存且未设置泄漏报警装置",
        category="0303",
        at=day - timedelta(days=4),
    )
    _act(session, handler, listed, "sign", day - timedelta(days=4, hours=-2))
    _plan(session, listed, handler, day - timedelta(days=3))
    _publish_due(session, listed, boss, day - timedelta(days=2))

    return [listed, closed]
