"""`import_org`: a district's organisation from one workbook, all or nothing.

Each row goes through the org service (create_region, create_unit, create_category, create_user,
or the update_* of a row whose code — username for users — already exists), so the rules live
in one place. A refused row leaves nothing behind and the next rows are still checked, so every
bad row is reported. The whole import runs in one outer savepoint, rolled back when any row was
refused: then nothing at all is written.

New rows are created in batches (org.Batch): the service checks each against the codes loaded
once and adds it unflushed, and the rows of one sheet and level are written with one flush, not
a query, a savepoint and an insert each. An update (which may query and flush) is applied in a
savepoint of its own, after the batch so far is written. Should the database refuse a batch (a
row the service's checks let through, such as a NUL character on PostgreSQL), the import starts
again without batches, every create in a savepoint of its own, to report the row refused.

Sheets go in dependency order — regions, units, categories, users — and within a sheet parents
before children whatever the file's order: regions by level, categories classes before items.
The existing organisation is loaded once, so parent look-ups hit the session, not the database.
"""

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, NotRequired, TypedDict, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, select

from closeloop.auth.policy import Principal
from closeloop.db import refresh_statistics
from closeloop.errors import DomainError, Forbidden
from closeloop.org import service as org
from closeloop.org.workbook import rows
from closeloop.org.workbook.columns import KEY, invalid_fields
from closeloop.org.workbook.sheets import Sheet, read_workbook
from closeloop.text import Msg
from models.enums import Role
from models.org import Category, Region, Unit
from models.user import User

ORDER = ("regions", "units", "categories", "users")
_LEVEL_RANK = {"district": 0, "street": 1, "community": 2, "grid": 3}
T = TypeVar("T")
_MODELS: dict[str, Any] = {"regions": Region, "units": Unit, "categories": Category, "users": User}


class Rejection(TypedDict):
    sheet: str
    row: int  # as a spreadsheet shows it: the header is row 1
    error: str  # "中文 / English"


class Password(TypedDict):
    username: str
    password: str


class OrgImportResult(TypedDict):
    created: dict[str, int]
    updated: dict[str, int]
    rejected: list[Rejection]
    # The one-time passwords generated for new users without a password, shown this once.
    passwords: NotRequired[list[Password]]


def import_org(
    session: Session,
    *,
    data: bytes,
    filename: str,
    actor: Principal,
    now: datetime,
    sheet: str | None = None,
) -> OrgImportResult:
    """Import the workbook `data` (.xlsx, a .csv named after its sheet or for `sheet`, or a .zip
    of CSVs). Rows that are refused come back in `rejected`, and then nothing is written; a file
    that cannot be read raises Invalid. Never commits: the caller does."""
    if actor.role != Role.admin:
        raise Forbidden(
            Msg("只有管理员可以导入组织架构", "only an admin can import the organisation")
        )
    sheets = read_workbook(data, filename, sheet=sheet)
    try:
        return _import(session, sheets, now, batched=True)
    except _BatchRefused:
        return _import(session, sheets, now, batched=False)


class _BatchRefused(Exception):
    """The database refused a batch of new rows: the import is rolled back and runs again."""


def _import(
    session: Session, sheets: dict[str, Sheet], now: datetime, *, batched: bool
) -> OrgImportResult:
    run = _Run(session, now, batched=batched)
    outer = session.begin_nested()
    try:
        for name in ORDER:
            if name in sheets:
                run.sheet(sheets[name])
        run.deactivate()
    except BaseException:
        outer.rollback()
        raise
    if run.rejected:
        outer.rollback()
    else:
        outer.commit()
        # Every jurisdiction test reads the regions: planned on the imported rows at once.
        written = {_MODELS[n].__table__.name: run.created[n] + run.updated[n] for n in ORDER}
        refresh_statistics(session, written)
    return run.result()


class _Run:
    def __init__(self, session: Session, now: datetime, *, batched: bool) -> None:
        self.session = session
        self.now = now
        self.created = dict.fromkeys(ORDER, 0)
        self.updated = dict.fromkeys(ORDER, 0)
        self.rejected: list[Rejection] = []
        self.passwords: list[Password] = []
        self.deactivations: list[tuple[int, int, str, int, str]] = []
        # The organisation as it stands, loaded once: held here so the session's identity map
        # answers the services' look-ups of parents, units and regions without a query each.
        self._loaded: dict[str, list[Any]] = {
            name: list(session.exec(select(model))) for name, model in _MODELS.items()
        }
        self.existing = {
            name: {getattr(row, KEY[name]): row for row in loaded}
            for name, loaded in self._loaded.items()
        }
        self.batches = (
            {name: org.Batch(taken=set(codes)) for name, codes in self.existing.items()}
            if batched
            else None
        )
        self.pending = False  # rows added to a batch and not yet flushed

    def sheet(self, sheet: Sheet) -> None:
        key = KEY[sheet.name]
        first: dict[str, int] = {}
        todo = []
        for number, record in sheet.rows:
            code = record.get(key)
            if code is not None and code in first:
                self.reject(
                    sheet.name,
                    number,
                    Msg(
                        f"{key} {code} 与第 {first[code]} 行重复",
                        f"{key} {code!r} repeats row {first[code]}",
                    ),
                )
                continue
            if code is not None:
                first[code] = number
            todo.append((number, record))
        rank = None
        for number, record in sorted(todo, key=lambda item: _rank(sheet.name, item[1])):
            if _rank(sheet.name, record) != rank:
                self.flush()  # parents are written (and found by the session) before children
                rank = _rank(sheet.name, record)
            self.row(sheet, number, record)
        self.flush()

    def row(self, sheet: Sheet, number: int, record: dict[str, str | None]) -> None:
        code = record.get(KEY[sheet.name])
        current = self.existing[sheet.name].get(code) if code is not None else None
        exists = current is not None
        batch = self.batches[sheet.name] if self.batches is not None and not exists else None
        work = partial(
            rows.apply,
            self.session,
            sheet=sheet.name,
            columns=sheet.columns,
            record=record,
            current=current,
            now=self.now,
            batch=batch,
        )
        if batch is None:
            self.flush()  # an update may query and flush: the batch so far is written first
            applied = self.attempt(sheet.name, number, work)
        else:
            with self.session.no_autoflush:  # a batch is written by self.flush alone
                applied = self.attempt(sheet.name, number, work)
        if applied is None or code is None:
            return
        self.pending = self.pending or batch is not None
        self._loaded[sheet.name].append(applied.row)  # the identity map holds rows weakly
        (self.updated if exists else self.created)[sheet.name] += 1
        if applied.password is not None:
            self.passwords.append(Password(username=code, password=applied.password))
        if applied.deactivate:
            rank = _rank(sheet.name, record)
            self.deactivations.append((ORDER.index(sheet.name), rank, sheet.name, number, code))

    def deactivate(self) -> None:
        """Rows saying active = no, once every row is in: users, categories, units, regions,
        and children before their parents (items before classes, grids before communities)."""
        self.flush()
        for _, _, sheet, number, code in sorted(self.deactivations, reverse=True):
            self.attempt(
                sheet,
                number,
                partial(rows.deactivate, self.session, sheet=sheet, key=code, now=self.now),
            )

    def flush(self) -> None:
        """Write the rows added to batches; a refusal starts the import again without them."""
        if self.pending:
            self.pending = False
            try:
                self.session.flush()
            except (IntegrityError, DataError) as exc:
                raise _BatchRefused from exc

    def attempt(self, sheet: str, number: int, work: Callable[[], T]) -> T | None:
        """`work()`, rejecting the row when the service or the schema refuses it (the row's
        writes are in savepoints of their own: a refusal leaves nothing behind)."""
        try:
            return work()
        except DomainError as exc:
            self.reject(sheet, number, exc.msg)
        except ValidationError as exc:
            self.reject(sheet, number, invalid_fields(exc))
        except (IntegrityError, DataError) as exc:
            self.reject(sheet, number, _refused(exc))
        return None

    def reject(self, sheet: str, row: int, msg: Msg) -> None:
        self.rejected.append(Rejection(sheet=sheet, row=row, error=msg.both()))

    def result(self) -> OrgImportResult:
        rejected = sorted(self.rejected, key=lambda r: (ORDER.index(r["sheet"]), r["row"]))
        if rejected:  # nothing was written
            zero = dict.fromkeys(ORDER, 0)
            return OrgImportResult(created=zero, updated=dict(zero), rejected=rejected)
        result = OrgImportResult(created=self.created, updated=self.updated, rejected=[])
        if self.passwords:
            result["passwords"] = self.passwords
        return result


def _rank(sheet: str, record: dict[str, str | None]) -> int:
    """Parents first: regions by level (an unknown level last), categories classes first."""
    if sheet == "regions":
        level = rows.level(record.get("level"))
        return _LEVEL_RANK.get(level or "", len(_LEVEL_RANK))
    if sheet == "categories":
        return 0 if record.get("parent_code") is None else 1
    return 0


def _refused(exc: IntegrityError | DataError) -> Msg:
    if isinstance(exc, IntegrityError):
        return Msg(
            "与已有数据冲突（编码重复或引用的编码不存在）",
            "conflicts with existing data (a code taken, or a code it names does not exist)",
        )
    return Msg(
        "含有数据库无法保存的值（如空字符）", "a value cannot be stored (e.g. a NUL character)"
    )
