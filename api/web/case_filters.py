"""The case list page's query string read into the core's CaseFilter (search.py checks it). A
form sends empty fields for "any"; a value the form cannot produce (a state or kind that does not
exist, a hand-edited link) reads as "any", as the page always did; a date that is not a date is
refused with the field named."""

from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from closeloop.cases.service import CaseFilter
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.enums import CaseKind, CaseState, Grade

# enterprise_code: from an enterprise's file (一企一档), its cases.
TEXT = ("q", "unit_code", "street_code", "community_code", "grid_code", "category_code", "sort",
        "enterprise_code")  # fmt: skip
FLAGS = ("listed", "urgent", "overdue")
DATES = (
    "reported_from",
    "reported_to",
    "due_from",
    "due_to",
    "closed_from",
    "closed_to",
)
FIELDS = (*TEXT, "state", "kind", "grade", *FLAGS, *DATES)


def _flag(raw: str) -> bool | None:
    return {"1": True, "true": True, "0": False, "false": False}.get(raw)


def _day(name: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(
            Msg(
                f"日期（{name}）应为 YYYY-MM-DD 格式：{raw[:20]}",
                f"{name} must be a date YYYY-MM-DD, not {raw[:20]!r}",
            )
        ) from None


def values_of(params: QueryParams) -> dict[str, Any]:
    """The form's fields as sent (trimmed), for redrawing the form and the links."""
    values: dict[str, Any] = {name: params.get(name, "").strip()[:100] for name in FIELDS}
    values["state"] = [s for s in params.getlist("state") if s in CaseState._value2member_map_]
    return values


def to_filter(values: dict[str, Any]) -> CaseFilter:
    kind, grade = values["kind"], values["grade"]
    fields: dict[str, Any] = {name: values[name] or None for name in TEXT}
    fields.update({name: _flag(values[name]) for name in FLAGS})
    fields.update({name: _day(name, values[name]) for name in DATES})
    return CaseFilter(
        state=[CaseState(s) for s in values["state"]] or None,
        kind=CaseKind(kind) if kind in CaseKind._value2member_map_ else None,
        grade=Grade(grade) if grade in Grade._value2member_map_ else None,
        **fields,
    )


def query_of(values: dict[str, Any]) -> str:
    """The filters as a query string (without the page), for the pager and the export link."""
    pairs: list[tuple[str, str]] = []
    for name in FIELDS:
        value = values.get(name)
        if isinstance(value, list):
            pairs += [(name, v) for v in value]
        elif value:
            pairs.append((name, value))
    return urlencode(pairs)
