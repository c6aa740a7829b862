"""What a refused input says: each pydantic error (its field, its type, its limits) as a message
in both languages naming the field by its label (closeloop.labels.FIELD) and what is allowed —
"延期天数必须在 1 到 365 个工作日之间", "标题最长 200 个字符". The API's 422 `detail` shows them in
both languages, a page in the reader's."""

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from closeloop.labels import FIELD, FIELD_UNIT
from closeloop.text import Msg
from models.case import ActionInput, CaseCreate, Location
from models.letter import LetterIssue, LetterWithdraw
from models.org import CategoryBase, RegionBase, UnitBase
from models.report import ReportCreate
from models.system import CalendarOverrideIn
from models.user import UserCreate

# The request bodies whose numeric fields have both bounds: a refused value names the range.
BODIES: tuple[type[BaseModel], ...] = (
    ActionInput,
    CaseCreate,
    Location,
    CategoryBase,
    RegionBase,
    UnitBase,
    UserCreate,
    LetterIssue,
    LetterWithdraw,
    ReportCreate,
    CalendarOverrideIn,
)
LOCATIONS = ("body", "query", "path", "form", "header", "cookie")
_NUMBER = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_INTEGER = ("int_parsing", "int_from_float", "int_type", "int_parsing_size")
_WHEN = ("datetime", "date", "time")


def field_name(loc: Iterable[Any]) -> str:
    """The field an error is about: the last named part of its location ("" for the body)."""
    names = [str(p) for p in loc if isinstance(p, str) and p not in LOCATIONS]
    return names[-1] if names else ""


def label(name: str) -> Msg:
    if not name:
        return Msg("请求内容", "The request")
    return FIELD.get(name) or Msg.same(name)


@cache
def bounds(name: str) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """A field's (lower, upper) bounds, each (value, inclusive), from the request bodies; none
    where the bodies disagree about it."""
    found: set[tuple[tuple[float, bool] | None, tuple[float, bool] | None]] = set()
    for model in BODIES:
        info = model.model_fields.get(name)
        if info is None:
            continue
        low = high = None
        for m in info.metadata:
            if isinstance(m, Ge):
                low = (float(m.ge), True)  # type: ignore[arg-type]
            elif isinstance(m, Gt):
                low = (float(m.gt), False)  # type: ignore[arg-type]
            elif isinstance(m, Le):
                high = (float(m.le), True)  # type: ignore[arg-type]
            elif isinstance(m, Lt):
                high = (float(m.lt), False)  # type: ignore[arg-type]
        found.add((low, high))
    return found.pop() if len(found) == 1 else (None, None)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(name: str, what: Msg, ctx: Mapping[str, Any]) -> Msg:
    low, high = bounds(name)
    if low is None and ("ge" in ctx or "gt" in ctx):
        low = (float(ctx.get("ge", ctx.get("gt"))), "ge" in ctx)
    if high is None and ("le" in ctx or "lt" in ctx):
        high = (float(ctx.get("le", ctx.get("lt"))), "le" in ctx)
    unit = FIELD_UNIT.get(name, Msg("", ""))
    if low and high and low[1] and high[1]:
        lo, hi = _num(low[0]), _num(high[0])
        return Msg(
            f"{what:zh}必须在 {lo} 到 {hi} {unit:zh}{'' if unit.zh else ' '}之间".replace(
                "  ", " "
            ),
            f"{what:en} must be between {lo} and {hi}{unit:en}",
        )
    parts = []
    if low:
        word = ("不小于", "at least") if low[1] else ("大于", "more than")
        parts.append(Msg(f"{word[0]} {_num(low[0])}", f"{word[1]} {_num(low[0])}"))
    if high:
        word = ("不大于", "at most") if high[1] else ("小于", "less than")
        parts.append(Msg(f"{word[0]} {_num(high[0])}", f"{word[1]} {_num(high[0])}"))
    limits = Msg.join(parts, "且", " and ")
    return Msg(f"{what:zh}必须{limits:zh}{unit:zh}", f"{what:en} must be {limits:en}{unit:en}")


def describe(error: Mapping[str, Any]) -> Msg:
    """One pydantic error as a message naming the field and what is allowed."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    name = field_name(error.get("loc", ()))
    what = label(name)
    if kind == "missing":
        return Msg(f"请填写{what:zh}", f"{what:en} is required")
    if kind == "string_too_long":
        n = ctx.get("max_length")
        return Msg(f"{what:zh}最长 {n} 个字符", f"{what:en} can be at most {n} characters long")
    if kind == "string_too_short":
        n = ctx.get("min_length")
        if n == 1:
            return Msg(f"请填写{what:zh}", f"{what:en} must not be empty")
        return Msg(f"{what:zh}至少 {n} 个字符", f"{what:en} must be at least {n} characters long")
    if kind == "too_long":
        n = ctx.get("max_length")
        return Msg(f"{what:zh}最多 {n} 项", f"{what:en} can have at most {n} item(s)")
    if kind == "too_short":
        n = ctx.get("min_length")
        return Msg(f"{what:zh}至少 {n} 项", f"{what:en} need at least {n} item(s)")
    if kind in _NUMBER:
        return _range(name, what, ctx)
    if kind in _INTEGER:
        low, high = bounds(name)
        if low and high and low[1] and high[1]:
            lo, hi, unit = _num(low[0]), _num(high[0]), FIELD_UNIT.get(name, Msg("", ""))
            return Msg(
                f"{what:zh}必须是整数，在 {lo} 到 {hi} {unit:zh}{'' if unit.zh else ' '}之间",
                f"{what:en} must be a whole number between {lo} and {hi}{unit:en}",
            )
        return Msg(f"{what:zh}必须是整数", f"{what:en} must be a whole number")
    if kind in ("float_parsing", "float_type", "finite_number"):
        return Msg(f"{what:zh}必须是数字", f"{what:en} must be a number")
    if kind in ("bool_parsing", "bool_type"):
        return Msg(f"{what:zh}必须是“是”或“否”", f"{what:en} must be true or false")
    if kind in ("enum", "literal_error"):
        allowed = str(ctx.get("expected", ""))
        return Msg(f"{what:zh}的值无效，可选：{allowed}", f"{what:en} must be {allowed}")
    if kind.startswith(_WHEN):
        return Msg(
            f"{what:zh}不是有效的日期或时间", f"{what:en} is not a valid date or time (ISO 8601)"
        )
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return Msg(f"{what:zh}格式不正确（{pattern}）", f"{what:en} must match {pattern}")
    if kind == "extra_forbidden":
        return Msg(f"不认识的字段 {name}", f"{name} is not a field of this request")
    if kind == "json_invalid":
        return Msg("请求正文不是有效的 JSON", "the request body is not valid JSON")
    return Msg(f"{what:zh}的值无效", f"{what:en}: {error.get('msg', 'invalid value')}")


def path(loc: Iterable[Any]) -> str:
    """An error's field as the API's body names it (location.lat, attachment_ids.0)."""
    return ".".join(str(p) for p in loc if p not in LOCATIONS) or "request"


def describe_all(errors: Iterable[Mapping[str, Any]], *, with_path: bool = False) -> Msg:
    """Every error, each once, in order; `with_path` (the API) puts the field's path before the
    English ("days: Extension days must be ...") so a client sees which member to fix."""
    msgs = list(
        dict.fromkeys(
            Msg(m.zh, f"{path(e.get('loc', ()))}: {m.en}") if with_path else m
            for e in errors
            for m in (describe(e),)
        )
    )
    return Msg.join(msgs) if msgs else Msg("输入有误", "invalid input")
