"""Setting a district up from one workbook (/admin/import): the upload form, the template to
download and the result (created and updated per sheet, every refused row; the one-time
passwords of new users, shown on this answer only). closeloop.org.workbook does the work, all
or nothing."""

from typing import Any

from fastapi.responses import Response

from api import downloads
from api.deps import NowDep, SessionDep
from api.uploads import read_import
from api.web import i18n
from api.web.admin import PageAdmin
from api.web.deps import CsrfForm, PageDep, page_router, uploads
from api.web.pages import Page
from closeloop.errors import DomainError, Invalid
from closeloop.org.workbook import service as workbook
from closeloop.org.workbook.template import template_workbook

router = page_router()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = workbook.ORDER


def _page(page: Page, *, status: int = 200, **kw: Any) -> Response:
    context: dict[str, Any] = {"result": None, "sheets": SHEETS, **kw}
    return page.render("admin/import.html", status=status, **context)


@router.get("/admin/import")
def import_form(page: PageDep, _: PageAdmin) -> Response:
    return _page(page)


@router.get("/admin/import/template.xlsx")
def template(_: PageAdmin) -> Response:
    return downloads.send(
        template_workbook(),
        media_type=XLSX,
        filename="组织架构导入模板.xlsx",
        fallback="org-template.xlsx",
        inline=False,
    )


@router.post("/admin/import")
def import_workbook(
    page: PageDep, session: SessionDep, user: PageAdmin, now: NowDep, form: CsrfForm
) -> Response:
    files = uploads(form, "file")
    try:
        if not files:
            raise Invalid(i18n.msg("import.no_file"))
        upload = files[0]
        data = read_import(upload.file)
        result = workbook.import_org(
            session, data=data, filename=upload.filename or "", actor=user, now=now
        )
    except DomainError as exc:
        session.rollback()
        return _page(page, error=page.message(exc), status=exc.status)
    status = 422 if result["rejected"] else 200
    return _page(page, result=result, status=status)
