"""What the case page shows of a major hazard's dossier (api/web/routes_dossier.py takes its
forms)."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases.listing import listed_for_itself
from closeloop.errors import NotFound
from closeloop.safety import notices, plans, rechecks
from models.case import CasePublic
from models.enums import CaseState, Role


def dossier_view(
    session: Session, user: Principal, case: CasePublic, now: datetime
) -> dict[str, Any] | None:
    """What the case page shows of a major hazard's dossier (None for any other case)."""
    if not listed_for_itself(case.kind, case.grade):
        return None
    try:
        plan = plans.plan_public(session, plans.latest_plan(session, actor=user, case_id=case.id))
    except NotFound:
        plan = None
    rows = rechecks.list_rechecks(session, actor=user, case_id=case.id)
    found = notices.list_notices(session, actor=user, case_id=case.id)
    return {
        "plan": plan,
        "rechecks": [rechecks.recheck_public(session, r) for r in rows],
        "notices": [notices.notice_public(n, c, now=now) for n, c in found],
        "may_plan": user.role == Role.handler and case.state in plans.PLAN_STATES,
        "may_recheck": user.role == Role.supervisor and case.state == CaseState.verifying,
        "may_publish": user.role == Role.supervisor,
    }
