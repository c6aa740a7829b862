"""What the lifecycle asks of a major hazard (重大事故隐患) besides its state: the 五到位 plan before
its rectification is submitted, a passing re-inspection (复查) since the last submit before it is
approved (销号), and the public notices (挂牌 / 摘牌公告) its listing and closing put due.

The dossier's rows (models/dossier.py) are written by closeloop.safety; the cases layer reads them
here for its preconditions (loaded once per request beside the pending requests, so
`allowed_actions` stays truthful) and writes the delisting notice when a major hazard closes.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from closeloop.calendar.days import WorkCalendar
from closeloop.cases.listing import listed_for_itself
from closeloop.config import Settings
from closeloop.text import Msg
from models.case import Case
from models.dossier import HazardPlan, Notice, Recheck
from models.enums import NoticeType, RecheckResult

NOTICE_DAYS = 5  # a notice is published within 5 working days of its event


@dataclass
class Dossier:
    """What the lifecycle needs to know of a case's dossier."""

    planned: bool = False
    recheck_at: datetime | None = None  # the latest recheck
    recheck_passed: bool = False


def dossiers(session: Session, case_ids: list[int]) -> dict[int, Dossier]:
    """The dossier facts of these cases, in two indexed queries."""
    out = {cid: Dossier() for cid in case_ids}
    if not case_ids:
        return out
    for cid in session.exec(
        select(HazardPlan.case_id).where(col(HazardPlan.case_id).in_(case_ids)).distinct()
    ):
        out[cid].planned = True
    rows = session.exec(
        select(Recheck.case_id, Recheck.at, Recheck.result)
        .where(col(Recheck.case_id).in_(case_ids))
        .order_by(col(Recheck.at), col(Recheck.id))
    )
    for cid, at, result in rows:
        out[cid].recheck_at, out[cid].recheck_passed = at, result == RecheckResult.pass_
    return out


def _dossier(pending: Any) -> Dossier:
    return getattr(pending, "dossier", None) or Dossier()


def plan_in(case: Case, pending: Any, now: datetime, settings: Settings) -> Msg | None:
    """A precondition of submit: a major hazard's 五到位 plan is in."""
    if not listed_for_itself(case.kind, case.grade) or _dossier(pending).planned:
        return None
    return Msg(
        "重大隐患须先提交五到位整改方案（措施、资金、责任人、时限、应急预案）",
        "a major hazard needs its rectification plan with the five in place (measures, funds, "
        "responsible person, deadline, emergency plan) before it is submitted: "
        "POST /api/v1/cases/{id}/plan",
    )


def passing_recheck(case: Case, pending: Any, now: datetime, settings: Settings) -> Msg | None:
    """A precondition of approve: a major hazard's latest re-inspection since its last submit
    passed."""
    if not listed_for_itself(case.kind, case.grade):
        return None
    d = _dossier(pending)
    since = case.submitted_at
    if d.recheck_at is not None and (since is None or d.recheck_at >= since) and d.recheck_passed:
        return None
    if d.recheck_at is not None and (since is None or d.recheck_at >= since):
        return Msg(
            "重大隐患复查不合格，不能销号；请驳回返工",
            "the latest re-inspection of this major hazard failed: reject it for rework",
        )
    return Msg(
        "重大隐患销号须先由督办人员复查合格（本次提交整改后）",
        "closing a major hazard needs a passing re-inspection (复查) by a supervisor since its "
        "rectification was submitted: POST /api/v1/cases/{id}/recheck",
    )


def open_notice(
    session: Session, case: Case, notice_type: NoticeType, *, now: datetime, cal: WorkCalendar
) -> Notice | None:
    """The notice of this type for `case`, due in 5 working days from `now`, added to the
    session (not flushed: inside an action, the case's version compare-and-swap flushes once);
    None if the case already has one (a case has one listing and one delisting notice: a
    reopened and closed again major hazard keeps the delisting notice it had)."""
    assert case.id is not None
    with session.no_autoflush:
        exists = session.exec(
            select(Notice.id).where(Notice.case_id == case.id, Notice.type == notice_type)
        ).first()
    if exists is not None:
        return None
    due_at, estimated = cal.due_after(now, NOTICE_DAYS)
    notice = Notice(
        type=notice_type, case_id=case.id, due_at=due_at, due_estimated=estimated, created_at=now
    )
    session.add(notice)
    return notice
