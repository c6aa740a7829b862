"""A list page's answer (GET /api/v1/cases) as JSON, built straight from the page's rows.

The bytes are those of `CasePage` with a `CasePublic` per row (service.to_public, allowed
actions included) serialised by pydantic (tests/cases/test_page_json.py compares them for every
state, kind and role): the same fields in the model's order, the same values — a timestamp by
the model's own serializer (models.types.LocalTime's `local_iso`), the location as the model
dumps it — written by pydantic-core's own JSON writer. What it skips is the per-row work that
only re-checks what the page's statement already typed: 50 models validated field by field (a
row's ~35 attributes each read by name) and walked again to serialise them.

The allowed actions are lifecycle.allowed_actions of each row (the one action table), with the
page's facts loaded as list_cases loads them (requests.pending_on_demand_together)."""

from datetime import datetime
from operator import attrgetter
from typing import Any, get_args

from pydantic.fields import FieldInfo
from pydantic_core import to_json
from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases import search
from closeloop.cases.lifecycle import allowed_actions
from closeloop.cases.requests import pending_on_demand_together
from closeloop.cases.search import CaseFilter
from closeloop.config import get_settings
from models.case import CasePublic
from models.types import local_iso

# CasePublic's fields in its order (the order of the answer's keys).
FIELDS = tuple(CasePublic.model_fields)
# Those computed from the row rather than read from a column of the same name.
_COMPUTED = {"location": "lat", "allowed_actions": "id"}  # name → a column standing in for it


def _serialized_by(f: FieldInfo) -> list[Any]:
    """The functions of a field's PlainSerializers (its own, or its union's Annotated member)."""
    marks = [*f.metadata]
    for arg in get_args(f.annotation):
        marks.extend(getattr(arg, "__metadata__", ()))
    return [getattr(m, "func", None) for m in marks]


# The timestamps (LocalTime: ISO 8601 in Asia/Shanghai, by local_iso).
_TIMES = tuple(
    name for name, f in CasePublic.model_fields.items() if local_iso in _serialized_by(f)
)
# Every field's column, read in one call (a C getter: a tuple of 32 values).
_COLUMNS = attrgetter(*(_COMPUTED.get(name, name) for name in FIELDS))


def _check_model() -> None:
    """Every field of CasePublic is a column of the case table (a timestamp among them shown by
    `local_iso`) or one of the two computed here: a field added to the model without its
    column, or a timestamp shown another way, fails at import, not in an answer."""
    columns: set[str] = set(search.CaseRow._fields)
    for name, f in CasePublic.model_fields.items():
        assert name in _COMPUTED or name in columns, f"CasePublic.{name}: no column"
        text = str(f.annotation)
        assert ("datetime" in text) == (name in _TIMES), f"CasePublic.{name}: not a LocalTime"


_check_model()


def item(row: Any, actions: list[str]) -> dict[str, Any]:
    """One case of the page as CasePublic dumps it (`row`: a search.CaseRow)."""
    shown = dict(zip(FIELDS, _COLUMNS(row), strict=True))
    for name in _TIMES:  # replaced in place: the keys keep the model's order
        value = shown[name]
        if value is not None:
            shown[name] = local_iso(value)
    lat, lon = row.lat, row.lon
    # Location's fields are floats (a whole number validated into one: 22 → 22.0).
    shown["location"] = (
        None if lat is None or lon is None else {"lat": float(lat), "lon": float(lon)}
    )
    shown["allowed_actions"] = actions
    return shown


def list_page_json(
    session: Session,
    *,
    actor: Principal,
    filters: CaseFilter,
    page: int,
    page_size: int,
    now: datetime,
) -> bytes:
    """service.list_cases's page as the JSON of its CasePage."""
    rows, total = search.find_page(
        session, actor=actor, filters=filters, page=page, page_size=page_size, now=now
    )
    pending = pending_on_demand_together(session, [r.id for r in rows])
    settings = get_settings()
    items = [
        item(r, allowed_actions(r, actor, pending=pending[r.id], now=now, settings=settings))
        for r in rows
    ]
    answer = {"items": items, "total": total, "page": page, "page_size": page_size}
    return to_json(answer, inf_nan_mode="null")  # the models' default (ser_json_inf_nan)
