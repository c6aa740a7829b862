"""The department inbox, the dispatcher's queue and the searchable case list."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from api.web.core import Web, page_number, respond
from api.web.views import Names, left_label
from closeloop.auth import policy
from closeloop.cases import deadlines, queues
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from models.case import Case
from models.enums import Action, CaseKind, CaseState, Role

router = APIRouter(include_in_schema=False)


def _flash(w: Web) -> str:
    ok = w.request.query_params.get("ok", "")
    return f"{w.t('act.' + ok)}{w.t('colon')}{w.t('done')}" if ok else ""


@router.get("/inbox")
def inbox(request: Request) -> Response:
    def page(w: Web) -> Response:
        policy.require_role(w.me, Role.handler)
        cal = deadlines.load_calendar(w.session)
        box = queues.unit_worklist(w.session, actor=w.me, cal=cal, now=w.now)
        sections = [
            ("to-sign", "inbox.to_sign", box.to_sign),
            ("due-soon", "inbox.due_soon", box.due_soon),
            ("overdue", "inbox.overdue", box.overdue),
            ("other", "inbox.other", box.other),
        ]
        labels = {
            r.case.id: left_label(w.t, r.left)
            for _, _, rows in sections
            for r in rows
        }
        return w.render(
            "inbox.html", sections=sections, labels=labels, names=Names.load(w.session),
            sign_late={r.case.id for r in box.to_sign if queues.sign_overdue(r.case, w.now)},
            flash=_flash(w),
        )

    return respond(request, page)


@router.get("/queue")
def queue(request: Request) -> Response:
    def page(w: Web) -> Response:
        policy.require_role(w.me, Role.dispatcher, Role.supervisor)
        new = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(state=CaseState.reported), page=1,
            page_size=queues.QUEUE_SIZE, now=w.now,
        )
        rows = list(w.session.exec(select(Case).where(col(Case.id).in_([c.id for c in new.items]))))
        dups = queues.possible_duplicates(w.session, actor=w.me, cases=rows)
        verify = cases.list_cases(
            w.session, actor=w.me, filters=CaseFilter(state=CaseState.verifying), page=1,
            page_size=queues.QUEUE_SIZE, now=w.now,
        )
        to_verify = [c for c in verify.items if Action.approve in c.allowed_actions]
        names = Names.load(w.session)
        return w.render(
            "queue.html", new=new.items, dups=dups, to_verify=to_verify, names=names,
            units=list(names.units.values()), flash=_flash(w),
        )

    return respond(request, page)


@router.get("/cases")
def case_list(
    request: Request,
    state: str = "",
    kind: str = "",
    overdue: str = "",
    q: str = "",
    page: str = "1",
) -> Response:
    def view(w: Web) -> Response:
        filters = CaseFilter(
            state=CaseState(state) if state in CaseState._value2member_map_ else None,
            kind=CaseKind(kind) if kind in CaseKind._value2member_map_ else None,
            overdue=True if overdue == "1" else None,
            q=q.strip()[:100] or None,
        )
        listing = cases.list_cases(
            w.session, actor=w.me, filters=filters, page=page_number(page), page_size=50,
            now=w.now,
        )
        query = {k: v for k, v in (("state", state), ("kind", kind), ("overdue", overdue),
                                   ("q", q)) if v}
        return w.render(
            "cases.html", listing=listing, names=Names.load(w.session),
            filters={"state": state, "kind": kind, "overdue": overdue, "q": q},
            states=list(CaseState), kinds=list(CaseKind),
            pager_q=("&" + urlencode(query)) if query else "",
        )

    return respond(request, view)
