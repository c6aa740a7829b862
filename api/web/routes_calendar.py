"""The working-day calendar page (/admin/calendar): any signed-in user reads a year (working
days, the package's holidays and 调休, the local overrides, whether the year is estimated on plain
weekdays); an admin enters a State Council holiday notice as overrides, all or nothing."""

from datetime import date, datetime

from fastapi.responses import Response
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web import i18n
from api.web.admin import PageAdmin
from api.web.deps import CsrfForm, PageDep, PageUser, field, page_router
from api.web.pages import Page, redirect
from closeloop.calendar import service as calendar
from closeloop.errors import DomainError, Invalid
from closeloop.text import Msg
from models.enums import Role

router = page_router()
HOLIDAY_ROWS = 8  # 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 and one spare
MAKEUP_ROWS = 8


def _year(raw: str, now: datetime) -> int:
    return int(raw) if raw.isdigit() and 1900 <= int(raw) <= 2200 else now.year


def _page(
    page: Page,
    session: Session,
    now: datetime,
    year: int,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    user = page.user
    return page.render(
        "admin/calendar.html",
        status=status,
        error=error,
        flash=page.t("cal.saved") if page.request.query_params.get("ok") else "",
        detail=calendar.year_detail(session, year=year),
        this_year=now.year,
        editable=user is not None and user.role == Role.admin,
        values=values or {},
        holiday_rows=range(HOLIDAY_ROWS),
        makeup_rows=range(MAKEUP_ROWS),
    )


@router.get("/admin/calendar")
def calendar_page(
    page: PageDep, session: SessionDep, _: PageUser, now: NowDep, year: str = ""
) -> Response:
    return _page(page, session, now, _year(year, now))


def _day(values: dict[str, str], name: str, label: Msg) -> date | None:
    raw = values.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(i18n.msg("err.date", what=label)) from None


def _notice(values: dict[str, str]) -> tuple[list[tuple[date, date, str]], list[tuple[date, str]]]:
    """The form's rows that were filled in; a half-filled row is refused, naming it."""
    holidays = []
    for i in range(HOLIDAY_ROWS):
        label = i18n.msg("cal.holiday_n", n=i + 1)
        first = _day(values, f"h_start_{i}", label + Msg.same(" · ") + i18n.msg("cal.first"))
        last = _day(values, f"h_end_{i}", label + Msg.same(" · ") + i18n.msg("cal.last"))
        name = values.get(f"h_name_{i}", "")
        if first is None and last is None and not name:
            continue
        if first is None:
            raise Invalid(
                i18n.msg("err.required", what=label + Msg.same(" · ") + i18n.msg("cal.first"))
            )
        holidays.append((first, last or first, name))
    makeups = []
    for i in range(MAKEUP_ROWS):
        label = i18n.msg("cal.makeup_n", n=i + 1)
        day = _day(values, f"m_day_{i}", label)
        name = values.get(f"m_name_{i}", "")
        if day is None:
            if name:
                raise Invalid(i18n.msg("err.required", what=label))
            continue
        makeups.append((day, name))
    return holidays, makeups


@router.post("/admin/calendar")
def enter_notice(
    page: PageDep, session: SessionDep, user: PageAdmin, now: NowDep, form: CsrfForm
) -> Response:
    """A holiday notice: its breaks (first–last day, name) and make-up working days, saved as
    overrides through calendar.set_overrides in one go; a refusal keeps what was typed."""
    year = _year(field(form, "year"), now)
    names = [f"{p}_{i}" for i in range(HOLIDAY_ROWS) for p in ("h_start", "h_end", "h_name")]
    names += [f"{p}_{i}" for i in range(MAKEUP_ROWS) for p in ("m_day", "m_name")]
    values = {name: field(form, name) for name in names}
    try:
        holidays, makeups = _notice(values)
        items = calendar.notice_overrides(holidays=holidays, makeups=makeups)
        calendar.set_overrides(session, actor=user, items=items, now=now)
    except DomainError as exc:
        session.rollback()
        return _page(
            page, session, now, year, values=values, error=page.message(exc), status=exc.status
        )
    return redirect(f"/admin/calendar?year={year}&ok=1")
