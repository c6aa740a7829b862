"""A unit's work list (待办, at /inbox), the dispatcher's queue and the searchable case list."""

from urllib.parse import urlencode

from fastapi.responses import Response

from api.deps import NowDep, SessionDep
from api.web.deps import PageDep, PageUser, page_router
from api.web.pages import PageNo, page_number
from api.web.views import DEADLINE_LABEL, Names, left_label
from closeloop.cases import queues, views
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from models.enums import CaseKind, CaseState

router = page_router()


@router.get("/inbox")
def worklist(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    work = views.worklist(session, actor=user, now=now)
    sections = [
        ("to-sign", "worklist.to_sign", work.to_sign),
        ("due-soon", "worklist.due_soon", work.due_soon),
        ("overdue", "worklist.overdue", work.overdue),
        ("other", "worklist.other", work.other),
    ]
    labels = {r.case.id: left_label(page.t, r.left) for _, _, rows in sections for r in rows}
    return page.render(
        "worklist.html",
        sections=sections,
        labels=labels,
        names=Names.load(session),
        sign_late={r.case.id for r in work.to_sign if queues.sign_overdue(r.case, now)},
        running={
            r.case.id: queues.running_deadline(r.case) for _, _, rows in sections for r in rows
        },
        deadline_labels=DEADLINE_LABEL,
        flash=page.flash(),
    )


@router.get("/queue")
def queue(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    q = views.dispatch_queue(session, actor=user, now=now)
    names = Names.load(session)
    return page.render(
        "queue.html",
        new=q.new,
        dups=q.duplicates,
        to_verify=q.to_verify,
        returned=q.returned,
        default_units=q.default_unit,
        refused=q.refused_default,
        names=names,
        units=list(names.units.values()),
        flash=page.flash(),
    )


@router.get("/cases")
def case_list(
    page: PageDep,
    session: SessionDep,
    user: PageUser,
    now: NowDep,
    state: str = "",
    kind: str = "",
    overdue: str = "",
    q: str = "",
    page_no: PageNo = "1",
) -> Response:
    filters = CaseFilter(
        state=CaseState(state) if state in CaseState._value2member_map_ else None,
        kind=CaseKind(kind) if kind in CaseKind._value2member_map_ else None,
        overdue=True if overdue == "1" else None,
        q=q.strip()[:100] or None,
    )
    listing = cases.list_cases(
        session, actor=user, filters=filters, page=page_number(page_no), page_size=50, now=now
    )
    query = {
        k: v for k, v in (("state", state), ("kind", kind), ("overdue", overdue), ("q", q)) if v
    }
    return page.render(
        "cases.html",
        listing=listing,
        names=Names.load(session),
        filters={"state": state, "kind": kind, "overdue": overdue, "q": q},
        states=list(CaseState),
        kinds=list(CaseKind),
        pager_q=("&" + urlencode(query)) if query else "",
    )
