"""The 五到位 rectification plan of a major hazard (重大事故隐患整改方案: measures, funds,
responsible person, deadline, emergency plan).

The handler of the case's unit submits it once signed for (while rectifying, suspended, or after
a rejected rectification sent it back). A later plan supersedes the earlier one; none is edited.
The first plan of a case opens its listing notice (挂牌督办公告), due in 5 working days. The
lifecycle refuses to submit a major hazard's rectification without a plan
(closeloop.cases.major.plan_in).
"""

from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.calendar.service import load_calendar
from closeloop.cases import major
from closeloop.cases import service as cases
from closeloop.config import Settings
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.safety.dossier_common import major_hazard, record
from closeloop.text import Msg
from models.case import Case
from models.dossier import HazardPlan, Notice, PlanIn, PlanPublic
from models.enums import CaseState, HistoryAction, NoticeType, Role
from models.user import User

PLAN = Msg("五到位整改方案", "a rectification plan")
PLAN_STATES = (CaseState.rectifying, CaseState.suspended)
FIELDS = ("measures", "funds", "responsible", "deadline", "emergency_plan")


def submit_plan(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    data: PlanIn,
    now: datetime,
    settings: Settings | None = None,
) -> HazardPlan:
    if actor.role != Role.handler:
        raise Forbidden(
            Msg(
                "五到位整改方案由承办单位的处置人员提交",
                "a rectification plan is submitted by a handler of the case's unit",
            )
        )
    case = major_hazard(session, actor=actor, case_id=case_id, states=PLAN_STATES, step=PLAN)
    _check(data, now)
    assert data.deadline is not None and case.id is not None
    first = session.exec(select(HazardPlan.id).where(HazardPlan.case_id == case.id)).first() is None
    plan = HazardPlan(
        case_id=case.id,
        measures=(data.measures or "").strip(),
        funds=(data.funds or "").strip(),
        responsible=(data.responsible or "").strip(),
        deadline=data.deadline,
        emergency_plan=(data.emergency_plan or "").strip(),
        submitted_by=actor.id or 0,
        submitted_at=now,
    )
    session.add(plan)
    session.flush()
    notice = None
    if first:
        cal = load_calendar(session, settings)
        notice = major.open_notice(session, case, NoticeType.listing, now=now, cal=cal)
        session.flush()
    record(
        session,
        case,
        action=HistoryAction.plan,
        actor=actor,
        now=now,
        note=f"五到位整改方案：责任人 {plan.responsible}，时限 {plan.deadline.isoformat()}",
        data={
            "plan_id": plan.id,
            "deadline": plan.deadline.isoformat(),
            "superseded": not first,
            **({"listing_notice_id": notice.id} if notice else {}),
        },
    )
    session.flush()
    return plan


def _check(data: PlanIn, now: datetime) -> None:
    missing = [f for f in FIELDS if getattr(data, f) is None or not str(getattr(data, f)).strip()]
    if missing:
        names = Msg.join((labels.PLAN_FIELD[f] for f in missing), "、", ", ")
        raise Invalid(
            Msg(
                f"五到位整改方案缺少：{names.zh}（措施、资金、责任人、时限、应急预案五项均须填写）",
                f"the rectification plan lacks: {names.en} (all five are required: measures, "
                "funds, responsible person, deadline, emergency plan)",
            ),
            fields=missing,
        )
    today = now.astimezone(SHANGHAI).date()
    assert data.deadline is not None
    if data.deadline < today:
        raise Invalid(
            Msg(
                f"时限 {data.deadline.isoformat()} 已过，须为今天（{today.isoformat()}）或以后",
                f"deadline {data.deadline.isoformat()} is in the past: give {today.isoformat()} "
                "or later",
            ),
            fields=["deadline"],
        )


def latest_plan(session: Session, *, actor: Principal, case_id: int) -> HazardPlan:
    """The plan in force (the latest); 404 when the case has none."""
    _visible(session, actor=actor, case_id=case_id)
    plan = session.exec(
        select(HazardPlan)
        .where(HazardPlan.case_id == case_id)
        .order_by(col(HazardPlan.submitted_at).desc(), col(HazardPlan.id).desc())
    ).first()
    if plan is None:
        raise NotFound(
            Msg(f"案件 {case_id} 尚无五到位整改方案", f"case {case_id} has no rectification plan")
        )
    return plan


def plan_public(session: Session, plan: HazardPlan) -> PlanPublic:
    user = session.get(User, plan.submitted_by)
    notice = session.exec(
        select(Notice.id).where(Notice.case_id == plan.case_id, Notice.type == NoticeType.listing)
    ).first()
    return PlanPublic(
        **plan.model_dump(),
        submitted_by_name=user.display_name if user else "",
        listing_notice_id=notice,
    )


def _visible(session: Session, *, actor: Principal, case_id: int) -> Case:
    return cases.load_case(session, actor=actor, case_id=case_id)
