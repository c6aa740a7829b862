"""A one-sheet XLSX workbook written as a stream: the zip's parts are written by hand and the
sheet's rows go into the compressed stream as XML text as they come, so memory stays flat however
many rows there are and the cost per cell is a string format, not an XML tree.

What a cell may hold: str (an inline string, so text starting with "=" stays text; characters
XML 1.0 does not allow are dropped), int / float (numbers), bool (TRUE/FALSE), datetime / date
(Excel serial numbers in a date style; naive, read as wall time) and None (an empty cell). The
first row is the header, in bold; the pane is frozen below it and right of the first column."""

import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = (
    HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/></Types>'
)
ROOT_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
    f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/></Relationships>'
)
# Cell styles (s="…"): 0 plain, 1 bold (the header), 2 date and time, 3 date.
STYLES = (
    HEAD + f'<styleSheet xmlns="{MAIN}"><numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
ORDINAL = EPOCH.toordinal()
FLUSH = 500  # rows joined into one write
# Not allowed in XML 1.0: C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MARKUP = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def text(value: str) -> str:
    """A string as XML character data: illegal characters dropped, markup escaped."""
    value = ILLEGAL.sub("", value)
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def attribute(value: str) -> str:
    return text(value).replace('"', "&quot;")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def serial(value: datetime | date) -> float | int:
    """A naive date or time as Excel's serial number (days since 1899-12-30)."""
    if not isinstance(value, datetime):
        return value.toordinal() - ORDINAL
    if value.tzinfo is not None:
        raise ValueError("XLSX has no time zones: give wall time (a naive datetime)")
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    return value.toordinal() - ORDINAL + seconds / 86400


def cell(ref: str, value: Any, style: int = 0) -> str:
    """One <c> element; "" for None (an absent cell is an empty one)."""
    s = f' s="{style}"' if style else ""
    if isinstance(value, str):
        value = text(value)
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{value}</t></is></c>'
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number a spreadsheet can hold")
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, date):
        dated = 2 if isinstance(value, datetime) else 3
        return f'<c r="{ref}" s="{style or dated}"><v>{serial(value)!r}</v></c>'
    raise TypeError(f"an XLSX cell cannot hold {type(value).__name__}")


def _cell(column: str, row: int, value: Any) -> str:
    """cell() with the common cases first: a plain string, nothing, a whole number."""
    kind = type(value)
    if kind is str and not (MARKUP.search(value) or value[:1].isspace() or value[-1:].isspace()):
        return f'<c r="{column}{row}" t="inlineStr"><is><t>{value}</t></is></c>'
    if value is None:
        return ""
    if kind is int:
        return f'<c r="{column}{row}"><v>{value}</v></c>'
    if kind is datetime:
        return f'<c r="{column}{row}" s="2"><v>{serial(value)!r}</v></c>'
    return cell(f"{column}{row}", value)


def _sheet_head(widths: Sequence[float], frozen: bool) -> str:
    pane = (
        '<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight" state="frozen"/>'
        '<selection pane="topRight"/><selection pane="bottomLeft"/>'
        '<selection pane="bottomRight" activeCell="B2" sqref="B2"/>'
        if frozen
        else ""
    )
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths, start=1)
    )
    return (
        HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "")
    )


def write(
    out: IO[bytes],
    *,
    sheet: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float] = (),
    freeze: bool = True,
) -> int:
    """Write a workbook of one sheet named `sheet` to `out`: the bold header row, then `rows`
    (each as long as the header or shorter), with column widths in characters and the pane
    frozen at B2. Returns the number of rows after the header."""
    if not 0 < len(sheet) <= 31 or BAD_SHEET_NAME.search(sheet):
        raise ValueError(f"{sheet!r} cannot name a sheet (1 to 31 characters, none of []:*?/\\)")
    letters = [column_letter(i) for i in range(len(headers))]
    n = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr(
            "xl/workbook.xml",
            HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView/>'
            f'</bookViews><sheets><sheet name="{attribute(sheet)}" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", STYLES)
        with zf.open("xl/worksheets/sheet1.xml", "w") as part:
            header = "".join(cell(f"{c}1", h, 1) for c, h in zip(letters, headers, strict=True))
            part.write(
                f'{_sheet_head(widths, freeze)}<sheetData><row r="1">{header}</row>'.encode()
            )
            chunk: list[str] = []
            for n, values in enumerate(rows, start=1):
                r = n + 1
                if len(values) > len(letters):
                    raise ValueError(f"row {r} has more cells than the header")
                cells = "".join([_cell(c, r, v) for c, v in zip(letters, values, strict=False)])
                if values and values[-1] is None:  # the row keeps its width for any reader
                    cells += f'<c r="{letters[len(values) - 1]}{r}"/>'
                chunk.append(f'<row r="{r}">{cells}</row>')
                if len(chunk) == FLUSH:
                    part.write("".join(chunk).encode())
                    chunk.clear()
            part.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return n
