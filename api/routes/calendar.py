from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from closeloop.calendar import service as calendar_service
from models.system import CalendarOverrideIn

router = APIRouter(prefix="/calendar", tags=["calendar"])


@router.get("", summary="工作日历 / the working-day calendar of a year")
def get_year(
    session: SessionDep, _: CurrentUser, now: NowDep, year: Annotated[int | None, Query()] = None
) -> dict[str, Any]:
    return calendar_service.year_view(session, year=year or now.year)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="录入调休/节假日 / enter overrides (one or a list)",
)
def set_days(
    session: SessionDep,
    user: AdminUser,
    now: NowDep,
    data: Annotated[CalendarOverrideIn | list[CalendarOverrideIn], Body()],
) -> list[dict[str, Any]]:
    items = data if isinstance(data, list) else [data]
    rows = calendar_service.set_overrides(session, actor=user, items=items, now=now)
    return [{"day": r.day.isoformat(), "workday": r.workday, "note": r.note} for r in rows]
