"""Importing the enterprise and place register from CSV or XLSX: good rows in, bad rows reported
with their row number and reason, nothing of a bad row written.

Rows are streamed (closeloop.imports.files reads them one at a time), each checked by the same
rules as a single registration (enterprises.checked), and written with SQLAlchemy Core in batches.
A code or credit code already in the register, or repeating an earlier row of the file, rejects
the row. Held in memory: the current batch, the grids met so far (the session's identity map),
the codes and credit codes of the file's accepted rows (keys only, to tell a repeat within the
file), and at most `max_rejected` rejections. The service never commits: the caller's
transaction holds the whole import, and a file refused half-way (bad encoding) rolls back."""

import heapq
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import IO, Any, TypedDict

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.db import refresh_statistics
from closeloop.errors import DomainError
from closeloop.imports.files import Cell, read_rows
from closeloop.labels import FIELD
from closeloop.safety.enterprises import checked, require_editor
from closeloop.text import Msg
from models.enterprise import Enterprise, EnterpriseCreate

COLUMNS = (
    "code",
    "name",
    "credit_code",
    "kind",
    "address",
    "grid_code",
    "industry",
    "scale",
    "risk_level",
    "contact_name",
    "contact_phone",
    "lat",
    "lon",
)
REQUIRED = ("code", "name", "grid_code")
MAX_REJECTED = 1000
TABLE = Enterprise.__table__  # type: ignore[attr-defined]


class Rejection(TypedDict):
    row: int
    error: str  # "中文 / English"


class ImportResult(TypedDict):
    imported: int
    rejected: list[Rejection]  # the first `max_rejected` by row number
    rejected_count: int


def import_file(
    session: Session,
    *,
    actor: Principal,
    fileobj: IO[bytes],
    filename: str,
    now: datetime,
    batch_size: int = 500,
) -> ImportResult:
    """Read `fileobj` as the .csv or .xlsx its `filename` says and import its rows."""
    require_editor(actor)
    rows = read_rows(fileobj, filename, columns=COLUMNS, required=REQUIRED)
    return import_rows(session, actor=actor, rows=rows, now=now, batch_size=batch_size)


def _text(value: Cell) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _reason(exc: ValidationError) -> Msg:
    """A row's refusal naming each column by its label and its name."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        what = FIELD.get(name, Msg.same(name))
        ctx = err.get("ctx") or {}
        kind = err["type"]
        if kind in ("missing", "string_too_short"):
            zh, en = "必须填写", "is required"
        elif kind == "string_too_long":
            zh, en = f"最长 {ctx.get('max_length')} 个字符", f"is at most {ctx.get('max_length')}"
        elif kind == "enum":
            zh, en = f"可选：{ctx.get('expected')}", f"must be {ctx.get('expected')}"
        elif kind == "string_pattern_mismatch":
            zh, en = "只能包含字母、数字和 _ . -", "may contain only letters, digits and _ . -"
        elif kind == "float_parsing":
            zh, en = "必须是数字", "must be a number"
        else:
            zh, en = f"无效（{err['msg']}）", err["msg"]
        parts.append(Msg(f"{what:zh}（{name}）{zh}", f"{name} {en}"))
    return Msg.join(parts)


def import_rows(
    session: Session,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, Mapping[str, Cell]]],
    now: datetime,
    batch_size: int = 500,
    max_rejected: int = MAX_REJECTED,
) -> ImportResult:
    require_editor(actor)
    rejected = _Rejections(max_rejected)
    codes: dict[str, int] = {}  # the file's accepted codes → their row
    credits: dict[str, int] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    imported = 0
    for row, raw in rows:
        try:
            data = EnterpriseCreate.model_validate(
                {k: t for k, v in raw.items() if (t := _text(v)) not in (None, "")}
            )
            values = checked(session, actor=actor, data=data)
        except ValidationError as exc:
            rejected.add(row, _reason(exc).both())
            continue
        except DomainError as exc:
            rejected.add(row, exc.detail)
            continue
        code, credit = values["code"], values["credit_code"]
        if code in codes:
            rejected.add(row, _repeat("代码", "code", code, codes[code]).both())
            continue
        if credit and credit in credits:
            rejected.add(
                row, _repeat("统一社会信用代码", "credit_code", credit, credits[credit]).both()
            )
            continue
        codes[code] = row
        if credit:
            credits[credit] = row
        batch.append((row, {**values, "active": True, "created_at": now, "updated_at": now}))
        if len(batch) >= batch_size:
            imported += _write(session, batch, rejected)
            batch = []
    imported += _write(session, batch, rejected)
    refresh_statistics(session, {Enterprise.__table__.name: imported})  # type: ignore[attr-defined]
    return {"imported": imported, "rejected": rejected.first(), "rejected_count": rejected.count}


def _repeat(zh: str, en: str, key: str, first: int) -> Msg:
    return Msg(
        f"{zh} {key} 与本文件第 {first} 行重复", f"{en} {key!r} repeats row {first} of this file"
    )


def _write(
    session: Session, batch: list[tuple[int, dict[str, Any]]], rejected: "_Rejections"
) -> int:
    """Insert one batch, less the rows whose code or credit code the register already holds."""
    if not batch:
        return 0
    codes = [v["code"] for _, v in batch]
    credits = [v["credit_code"] for _, v in batch if v["credit_code"]]
    have = set(session.execute(select(TABLE.c.code).where(TABLE.c.code.in_(codes))).scalars())
    held: dict[str, str] = {}
    if credits:
        found = session.execute(
            select(TABLE.c.credit_code, TABLE.c.code).where(TABLE.c.credit_code.in_(credits))
        )
        held = {credit: code for credit, code in found}
    keep = []
    for row, values in batch:
        code, credit = values["code"], values["credit_code"]
        if code in have:
            rejected.add(row, Msg(f"代码 {code} 已存在", f"code {code!r} already exists").both())
        elif credit and credit in held:
            rejected.add(
                row,
                Msg(
                    f"统一社会信用代码 {credit} 已登记为 {held[credit]}",
                    f"credit_code {credit} is already registered as {held[credit]}",
                ).both(),
            )
        else:
            keep.append(values)
    if keep:
        session.execute(insert(TABLE), keep)
    return len(keep)


class _Rejections:
    """The first `cap` rejections by row number, and how many there were in all (a batch's rows
    are judged again when it is written, so they come out of order)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.count = 0
        self._heap: list[tuple[int, str]] = []  # (-row, error): the largest row on top

    def add(self, row: int, error: str) -> None:
        self.count += 1
        if len(self._heap) < self.cap:
            heapq.heappush(self._heap, (-row, error))
        elif row < -self._heap[0][0]:
            heapq.heapreplace(self._heap, (-row, error))

    def first(self) -> list[Rejection]:
        return [{"row": -r, "error": e} for r, e in sorted(self._heap, reverse=True)]
