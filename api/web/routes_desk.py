"""A unit's work list (待办, at /inbox), the dispatcher's queue and the searchable case list."""

from fastapi.responses import Response

from api import case_export
from api.deps import NowDep, SessionDep
from api.web import case_filters
from api.web.deps import PageDep, PageUser, page_router
from api.web.pages import PageNo, page_number
from api.web.views import DEADLINE_LABEL, Names, estimated_years, left_label
from closeloop.cases import followups, queues, tasks, views
from closeloop.cases import service as cases
from closeloop.cases.service import SORTS
from closeloop.errors import DomainError
from closeloop.org import service as org
from models.case import CasePage
from models.enums import CaseKind, CaseState, Grade

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
        estimated_years=estimated_years(session, [r.case for _, _, rows in sections for r in rows]),
        running={
            r.case.id: queues.running_deadline(r.case) for _, _, rows in sections for r in rows
        },
        deadline_labels=DEADLINE_LABEL,
        flash=page.flash(),
        assist=tasks.inbox(session, actor=user, now=now),  # 协办待办
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
        units=org.units_for(session, region_code=user.region_code),
        estimated_years=estimated_years(session, q.to_verify),
        flash=page.flash(),
        follow_ups=followups.due(session, actor=user, now=now),
    )


@router.get("/cases")
def case_list(
    page: PageDep, session: SessionDep, user: PageUser, now: NowDep, page_no: PageNo = "1"
) -> Response:
    values = case_filters.values_of(page.request.query_params)
    query = case_filters.query_of(values)
    empty = CasePage(items=[], total=0, page=1, page_size=50)
    error, status = "", 200
    try:
        listing = cases.list_cases(
            session,
            actor=user,
            filters=case_filters.to_filter(values),
            page=page_number(page_no),
            page_size=50,
            now=now,
        )
    except DomainError as exc:
        session.rollback()
        listing, error, status = empty, page.message(exc), exc.status
    return page.render(
        "cases.html",
        status=status,
        error=error,
        listing=listing,
        names=Names.load(session),
        filters=values,
        choices=views.filter_choices(session, actor=user),
        states=list(CaseState),
        kinds=list(CaseKind),
        grades=list(Grade),
        sorts=[s for name in SORTS for s in (name, f"-{name}")],
        pager_q=("&" + query) if query else "",
        export_q=query,
        estimated_years=estimated_years(session, listing.items),
    )


@router.get("/cases.xlsx")
def case_list_xlsx(page: PageDep, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    """The list as the page shows it (its filters), every page, as a workbook."""
    filters = case_filters.to_filter(case_filters.values_of(page.request.query_params))
    return case_export.xlsx_response(session, actor=user, filters=filters, now=now)
