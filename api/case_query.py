"""The case list's query (GET /api/v1/cases, and its XLSX export): the parameters declared once,
in `case_filter`'s signature, and read two ways.

- FastAPI reads them for the export (`CaseQuery`, a dependency) and documents both routes by them.
- The list route reads them itself with `parse`: the same declarations as one pydantic model,
  validated in one call inside the route's single thread hop, after the sign-in (api/deps.Reader).
  FastAPI's own reading costs a pass of Python per declared parameter (24) on every request,
  and, being done before the route runs, needed the sign-in in a thread hop of its own before
  it (a refused token answers 401 before a refused parameter answers 422). The refusals are
  FastAPI's: each pydantic error under ("query", name), raised as RequestValidationError."""

import inspect
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, create_model
from starlette.datastructures import QueryParams

from closeloop.cases.service import SORTS, CaseFilter
from models.enums import CaseKind, CaseState, Grade

Code = Annotated[str | None, Query(max_length=40)]
Day = Annotated[date | None, Query(description="YYYY-MM-DD, a Shanghai day (both ends included)")]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=500)]


async def case_filter(  # async: it reads nothing, so FastAPI calls it without a thread hop
    state: Annotated[list[CaseState] | None, Query(description="one or several")] = None,
    kind: CaseKind | None = None,
    unit_code: Code = None,
    region_code: Code = None,
    street_code: Code = None,
    community_code: Code = None,
    grid_code: Code = None,
    category_code: Annotated[
        str | None, Query(max_length=40, description="a class: its items")
    ] = None,
    grade: Grade | None = None,
    listed: bool | None = None,
    urgent: bool | None = None,
    overdue: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    reported_from: Day = None,
    reported_to: Day = None,
    due_from: Day = None,
    due_to: Day = None,
    closed_from: Day = None,
    closed_to: Day = None,
    sort: Annotated[
        str | None, Query(max_length=20, description=f"{' | '.join(SORTS)}; '-' before: descending")
    ] = None,
    enterprise_code: Annotated[
        str | None, Query(max_length=40, description="an enterprise or place: its cases")
    ] = None,
) -> CaseFilter:
    """The case list's query, shared by the list and its XLSX export."""
    return _filter(locals())


def _filter(values: dict[str, Any]) -> CaseFilter:
    return CaseFilter(**{**values, "state": values["state"] or None})


CaseQuery = Annotated[CaseFilter, Depends(case_filter)]

# case_filter's parameters and the list's page and page size, as one model (the same
# annotations, defaults and limits).
_DECLARED = {
    name: (p.annotation, p.default) for name, p in inspect.signature(case_filter).parameters.items()
}
_LIST_QUERY: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "CaseListQuery", **_DECLARED, page=(Page, 1), page_size=(PageSize, 50)
)
_REPEATED = frozenset({"state"})  # given as often as wanted (?state=a&state=b); the rest once


def parse(params: QueryParams) -> tuple[CaseFilter, int, int]:
    """The list's filters, page and page size from its query string, as FastAPI reads them:
    a parameter not given (or a repeated one given no value) takes its default, a parameter
    given twice its last value, others are ignored; refused: 422, FastAPI's errors."""
    given = {
        name: params.getlist(name) if name in _REPEATED else params[name]
        for name in _LIST_QUERY.model_fields
        if name in params
    }
    try:
        query = _LIST_QUERY.model_validate(given)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in errors]) from None
    values = dict(query)
    page, page_size = values.pop("page"), values.pop("page_size")
    return _filter(values), page, page_size
