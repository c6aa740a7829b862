"""Major hazards on the pages: the dossier section of the case page (the 五到位 plan form for the
unit's handler, the recheck form and the notices' publish buttons for the supervisor), and the
notices list (unpublished first, the late ones marked). Every rule is the safety services'."""

from datetime import date
from typing import Annotated

from fastapi import Path
from fastapi.responses import HTMLResponse, Response

from api import downloads
from api.deps import NowDep, SessionDep
from api.web import session as websession
from api.web.deps import CsrfForm, PageDep, PageUser, fields, page_router
from api.web.pages import redirect
from api.web.routes_case import shown_again
from closeloop.errors import DomainError, Invalid
from closeloop.safety import notice_doc, notices, plans, rechecks
from closeloop.text import Msg
from models.dossier import PlanIn, RecheckIn
from models.enums import RecheckResult, Role

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PLAN_FIELDS = ("measures", "funds", "responsible", "deadline", "emergency_plan")


@router.post("/cases/{case_id}/plan")
def submit_plan(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm, case_id: PathId
) -> Response:
    values = fields(form, PLAN_FIELDS)
    try:
        deadline = _date(values["deadline"])
        data = PlanIn(**{**values, "deadline": deadline})
        plans.submit_plan(session, actor=user, case_id=case_id, data=data, now=now)
    except DomainError as exc:
        return shown_again(page, session, user, now, case_id, exc, values, open_action="plan")
    return redirect(f"/cases/{case_id}?ok=plan")


@router.post("/cases/{case_id}/recheck")
def record_recheck(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, form: CsrfForm, case_id: PathId
) -> Response:
    values = fields(form, ("result", "note"))
    try:
        if values["result"] not in RecheckResult._value2member_map_:
            raise Invalid(Msg("请选择复查结果：合格或不合格", "result: choose passed or failed"))
        data = RecheckIn(result=RecheckResult(values["result"]), note=values["note"])
        rechecks.record_recheck(session, actor=user, case_id=case_id, data=data, now=now)
    except DomainError as exc:
        return shown_again(page, session, user, now, case_id, exc, values, open_action="recheck")
    return redirect(f"/cases/{case_id}?ok=recheck")


@router.post("/notices/{notice_id}/publish")
def publish(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    form: CsrfForm,
    notice_id: PathId,
) -> Response:
    values = fields(form, ("next",))
    notice, _ = notices.get_notice(session, actor=user, notice_id=notice_id)
    try:
        notices.publish_notice(session, actor=user, notice_id=notice_id, now=now)
    except DomainError as exc:
        return shown_again(
            page, session, user, now, notice.case_id, exc, values, open_action="publish"
        )
    target = websession.safe_next(values.get("next"), f"/cases/{notice.case_id}")
    sep = "&" if "?" in target else "?"
    return redirect(f"{target}{sep}ok=publish")


@router.get("/notices")
def notice_list(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    rows = [
        notices.notice_public(n, c, now=now) for n, c in notices.list_notices(session, actor=user)
    ]
    return page.render("notices.html", rows=rows, may_publish=user.role == Role.supervisor)


@router.get("/notices/{notice_id}.html")
def notice_html(session: SessionDep, user: PageUser, notice_id: PathId) -> Response:
    notice, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    return HTMLResponse(notice_doc.render_html(session, notice, case))


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(session: SessionDep, user: PageUser, notice_id: PathId) -> Response:
    notice, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    return downloads.send(
        notice_doc.render_pdf(session, notice, case),
        media_type="application/pdf",
        filename=f"{notice.number or case.number + '-草稿'}.pdf",
        fallback=f"notice-{notice_id}.pdf",
        inline=True,
    )


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            Msg(
                f"时限 {value} 不是日期（年-月-日）", f"deadline {value} is not a date (YYYY-MM-DD)"
            )
        ) from None
