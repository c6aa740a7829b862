"""Reading a ledger file as a stream of rows: CSV (UTF-8) or XLSX (first worksheet).

Rows come one at a time with the row number a user sees in a spreadsheet (header = row 1); nothing
holds the whole file. An unknown type, an unreadable file or a missing required column raises
Invalid."""

import codecs
import csv
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import IO

from closeloop.errors import Invalid
from closeloop.text import Msg

Cell = str | datetime | date | None

COLUMNS = (
    "number",
    "kind",
    "title",
    "category_code",
    "grid_code",
    "unit_code",
    "grade",
    "state",
    "reported_at",
    "dispatched_at",
    "due_at",
    "closed_at",
)
# A file without one of these is refused; the others may be left out (then empty on every row).
REQUIRED = ("kind", "title", "category_code", "grid_code", "state", "reported_at")


def read_rows(
    source: str | os.PathLike[str] | IO[bytes],
    filename: str,
    *,
    columns: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
) -> Iterator[tuple[int, dict[str, Cell]]]:
    """Stream a ledger's rows as (spreadsheet row number, {column: value}); the header is row 1.

    Rows with every cell empty are skipped. Unknown columns are ignored; a missing required column,
    an unknown file type or an unreadable file raises Invalid (when the rows are first read).
    `columns` / `required`: another table's columns (the case ledger's by default)."""
    name = os.path.basename(filename or "").lower()
    if name.endswith(".csv"):
        return _csv_rows(source, columns, required)
    if name.endswith((".xlsx", ".xlsm")):
        return _xlsx_rows(source, columns, required)
    if name.endswith(".xls"):
        raise Invalid(
            Msg("不支持旧版 XLS 文件", ".xls (Excel 97–2003) is not supported: save as XLSX or CSV")
        )
    raise Invalid(
        Msg(
            "不支持的文件类型",
            f"cannot import {filename!r}: the ledger must be a .csv or .xlsx file",
        )
    )


@contextmanager
def _binary(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def _csv_rows(
    source: str | os.PathLike[str] | IO[bytes],
    known: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
) -> Iterator[tuple[int, dict[str, Cell]]]:
    row = 0
    with _binary(source) as raw:
        try:
            reader = csv.reader(_utf8_lines(raw))
            columns = _columns(next(reader, None), known, required)
            row = 1
            for values in reader:
                row += 1
                record = _text_record(columns, values)
                if record is not None:
                    yield row, record
        except UnicodeDecodeError:
            raise Invalid(
                Msg(
                    f"第 {row + 1} 行不是 UTF-8 编码",
                    f"row {row + 1} is not UTF-8 text: save the file as “CSV UTF-8” or as XLSX",
                )
            ) from None
        except csv.Error as exc:
            raise Invalid(
                Msg(f"CSV 格式错误（第 {row + 1} 行）", f"CSV error at row {row + 1}: {exc}")
            ) from None


def _utf8_lines(raw: IO[bytes]) -> Iterator[str]:
    """The file's lines decoded one at a time (so a bad byte is blamed on its row), without the
    UTF-8 byte order mark Excel writes."""
    first = True
    for line in iter(raw.readline, b""):
        if first:
            line, first = line.removeprefix(codecs.BOM_UTF8), False
        yield line.decode("utf-8")


def _xlsx_rows(
    source: str | os.PathLike[str] | IO[bytes],
    known: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
) -> Iterator[tuple[int, dict[str, Cell]]]:
    from openpyxl import load_workbook

    unreadable = Msg("无法读取 XLSX 文件", "the file could not be read as XLSX")
    with _binary(source) as raw:
        try:
            book = load_workbook(raw, read_only=True, data_only=True)
        except Exception as exc:
            raise Invalid(Msg(unreadable.zh, f"{unreadable.en} ({type(exc).__name__})")) from None
        try:
            if not book.worksheets:
                raise Invalid(Msg(unreadable.zh, f"{unreadable.en}: it has no worksheet"))
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # do not trust the stored size: read what is there
            rows = sheet.iter_rows(values_only=True)
            columns = _columns(next(rows, None), known, required)
            for row, values in enumerate(rows, start=2):
                record = _record(columns, [_xlsx_cell(v) for v in values])
                if record is not None:
                    yield row, record
        except Invalid:
            raise
        except Exception as exc:
            raise Invalid(
                Msg(unreadable.zh, f"{unreadable.en} ({type(exc).__name__}: {exc})")
            ) from None
        finally:
            book.close()


def _xlsx_cell(value: object) -> Cell:
    if value is None or isinstance(value, str | datetime | date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _columns(
    header: Iterable[object] | None,
    known: tuple[str, ...] = COLUMNS,
    required: tuple[str, ...] = REQUIRED,
) -> list[str | None]:
    """Each position's column name (None for a column we ignore); refuses a bad header row."""
    if header is None:
        raise Invalid(Msg("文件是空的", "the file is empty: its first row must be the header"))
    names = [str(h).strip().lstrip("\ufeff").lower() if h is not None else "" for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise Invalid(
            Msg(
                f"缺少必需的列：{', '.join(missing)}",
                "the header row lacks the required columns "
                f"{', '.join(missing)}; the columns are {', '.join(known)}",
            )
        )
    twice = sorted({n for n in names if n in known and names.count(n) > 1})
    if twice:
        raise Invalid(
            Msg(f"列重复：{', '.join(twice)}", f"columns appear twice: {', '.join(twice)}")
        )
    return [n if n in known else None for n in names]


def _record(columns: list[str | None], values: Iterable[Cell]) -> dict[str, Cell] | None:
    """The row as {column: value}, or None when every cell is empty."""
    record: dict[str, Cell] = {}
    blank = True
    for name, value in zip(columns, values, strict=False):
        if isinstance(value, str) and not value.strip():
            value = None
        blank = blank and value is None
        if name is not None:
            record[name] = value
    return None if blank else record


def _text_record(columns: list[str | None], values: list[str]) -> dict[str, Cell] | None:
    """_record of a row whose cells are all text (a CSV row), with fewer steps per cell."""
    record: dict[str, Cell] = {}
    blank = True
    for name, value in zip(columns, values, strict=False):
        if value.strip():
            blank = False
            if name is not None:
                record[name] = value
        elif name is not None:
            record[name] = None
    return None if blank else record
