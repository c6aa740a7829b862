"""Reading a workbook into its sheets: an XLSX (the worksheets named regions, units, categories,
users or 区域, 单位, 类别, 用户; other worksheets such as 说明 are skipped), one CSV (UTF-8, with or
without a byte order mark) standing for the sheet its file name says (`units.csv`, `luohu-units.csv`,
`单位.csv`) or the one given, or a ZIP of such CSVs.

Each row keeps the number a person sees in a spreadsheet (the header is row 1). A file that cannot
be read, has no known sheet or lacks a required column raises Invalid, saying what is expected."""

import codecs
import csv
import io
import os
import re
import zipfile
from dataclasses import dataclass, field

from closeloop.errors import Invalid
from closeloop.org.workbook.columns import SHEET_ZH, SHEETS, cell_text, column_name, sheet_name
from closeloop.text import Msg

Record = dict[str, str | None]
MAX_MEMBER = 64 * 1024 * 1024  # a CSV unpacked from a ZIP; a whole district is well under 1 MB
EXPECTED = Msg(
    "可用的工作表：regions（区域）、units（单位）、categories（类别）、users（用户）",
    "the sheets are regions, units, categories and users (or 区域, 单位, 类别, 用户)",
)
KINDS = Msg(
    "可导入 .xlsx 工作簿、以工作表命名的 .csv（如 units.csv）或装有这些 CSV 的 .zip",
    "import an .xlsx workbook, a .csv named after its sheet (e.g. units.csv) or a .zip of them",
)


@dataclass
class Sheet:
    name: str  # regions | units | categories | users
    columns: list[str]  # the fields the header names, in no particular order
    rows: list[tuple[int, Record]] = field(default_factory=list)


def read_workbook(data: bytes, filename: str, *, sheet: str | None = None) -> dict[str, Sheet]:
    """The file's known sheets by name; raises Invalid when it holds none or one is unreadable."""
    name = os.path.basename(filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")):
        sheets = _xlsx(data)
    elif name.endswith(".csv"):
        target = _wanted(sheet) if sheet else _csv_sheet(name)
        sheets = {target: _csv(data, target, name)}
    elif name.endswith(".zip"):
        sheets = _zip(data)
    else:
        raise Invalid(
            Msg(f"不支持的文件类型：{filename or '（无文件名）'}", f"cannot read {filename!r}")
            + Msg("。", ": ")
            + KINDS
        )
    if not sheets:
        raise Invalid(
            Msg("文件中没有可导入的工作表。", "the file has no sheet to import; ") + EXPECTED
        )
    return sheets


def _wanted(title: str) -> str:
    found = sheet_name(title)
    if found is None:
        raise Invalid(Msg(f"未知的工作表 {title}。", f"unknown sheet {title!r}; ") + EXPECTED)
    return found


def _csv_sheet(filename: str) -> str:
    """The sheet a CSV's name stands for: its whole stem or the stem's last word."""
    stem = filename.rsplit("/", 1)[-1].removesuffix(".csv")
    for candidate in (stem, re.split(r"[-_ .]", stem)[-1]):
        found = sheet_name(candidate)
        if found is not None:
            return found
    raise Invalid(
        Msg(
            f"无法从文件名 {filename} 判断是哪张工作表：请命名为 regions.csv、units.csv、"
            "categories.csv 或 users.csv",
            f"cannot tell which sheet {filename!r} is: name it regions.csv, units.csv, "
            "categories.csv or users.csv (or say the sheet)",
        )
    )


def _header(sheet: str, cells: list[object] | None) -> list[str | None]:
    """Each position's field (None: ignored), refusing a missing required or repeated column."""
    if cells is None:
        raise Invalid(
            Msg(f"工作表 {sheet} 是空的", f"sheet {sheet} is empty: row 1 must be the header")
        )
    names = [column_name(sheet, str(c)) if c is not None else None for c in cells]
    missing = [c.name for c in SHEETS[sheet] if c.required and c.name not in names]
    expected = ", ".join(c.name for c in SHEETS[sheet])
    if missing:
        raise Invalid(
            Msg(
                f"工作表 {sheet}（{SHEET_ZH[sheet]}）缺少必需的列：{', '.join(missing)}；"
                f"可用的列：{expected}",
                f"sheet {sheet} lacks the required columns {', '.join(missing)}; "
                f"its columns are {expected}",
            )
        )
    twice = sorted({n for n in names if n is not None and names.count(n) > 1})
    if twice:
        raise Invalid(
            Msg(
                f"工作表 {sheet} 的列重复：{', '.join(twice)}",
                f"sheet {sheet} has columns twice: {', '.join(twice)}",
            )
        )
    return names


def _record(columns: list[str | None], values: tuple[object, ...] | list[str]) -> Record | None:
    record: Record = {}
    for name, value in zip(columns, values, strict=False):
        if name is not None:
            record[name] = cell_text(value)
    return record if any(v is not None for v in record.values()) else None


def _sheet(name: str, rows: list[tuple[int, tuple[object, ...] | list[str]]]) -> Sheet:
    header = rows[0][1] if rows else None
    columns = _header(name, list(header) if header is not None else None)
    sheet = Sheet(name, [c for c in columns if c is not None])
    for number, values in rows[1:]:
        record = _record(columns, values)
        if record is not None:
            sheet.rows.append((number, record))
    return sheet


def _xlsx(data: bytes) -> dict[str, Sheet]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise Invalid(
            Msg(
                "无法读取 XLSX 文件。",
                f"the file could not be read as XLSX ({type(exc).__name__}); ",
            )
            + KINDS
        ) from None
    try:
        sheets: dict[str, Sheet] = {}
        for worksheet in book.worksheets:
            name = sheet_name(worksheet.title)
            if name is None:
                continue
            if name in sheets:
                raise Invalid(
                    Msg(f"工作表 {name} 出现了两次", f"the workbook has the sheet {name} twice")
                )
            worksheet.reset_dimensions()  # do not trust the stored size: read what is there
            rows = list(enumerate(worksheet.iter_rows(values_only=True), start=1))
            sheets[name] = _sheet(name, rows)
        return sheets
    finally:
        book.close()


def _csv(data: bytes, name: str, filename: str) -> Sheet:
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid(
            Msg(
                f"{filename} 第 {line} 行不是 UTF-8 编码",
                f"{filename} row {line} is not UTF-8: save it as “CSV UTF-8” or as XLSX",
            )
        ) from None
    try:
        rows = [(n, values) for n, values in enumerate(csv.reader(io.StringIO(text)), start=1)]
    except csv.Error as exc:
        raise Invalid(Msg(f"{filename} CSV 格式错误", f"{filename}: CSV error: {exc}")) from None
    return _sheet(name, rows)  # type: ignore[arg-type]


def _zip(data: bytes) -> dict[str, Sheet]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Invalid(
            Msg("无法读取 ZIP 文件。", "the file could not be read as ZIP; ") + KINDS
        ) from None
    sheets: dict[str, Sheet] = {}
    with archive:
        for info in archive.infolist():
            member = info.filename.lower()
            if info.is_dir() or not member.endswith(".csv") or "__macosx" in member:
                continue
            name = _csv_sheet(member)
            if info.file_size > MAX_MEMBER:
                raise Invalid(
                    Msg(
                        f"ZIP 中的 {info.filename} 过大",
                        f"{info.filename} in the ZIP is larger than {MAX_MEMBER} bytes unpacked",
                    )
                )
            if name in sheets:
                raise Invalid(Msg(f"ZIP 中有两个 {name} 文件", f"the ZIP holds two {name} files"))
            sheets[name] = _csv(archive.read(info), name, info.filename)
    return sheets
