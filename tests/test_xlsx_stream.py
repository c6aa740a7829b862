"""The streamed XLSX writer: the file is a workbook Excel/LibreOffice read, every part well
formed, every cell back with its type, and rows written as they come."""

import io
import zipfile
from datetime import date, datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from closeloop import xlsx_stream

HEADERS = ["文本", "整数", "小数", "真假", "时间", "日期", "空"]
NASTY = "<&>\"' =1+1 \x01\x0bend\ufffe"


def _book(rows, **kw):
    out = io.BytesIO()
    kw = {"sheet": "案件", "headers": HEADERS, "widths": [30, 8, 8, 6, 17, 12, 5], **kw}
    n = xlsx_stream.write(out, rows=rows, **kw)
    return n, out.getvalue()


def test_openpyxl_reads_every_cell_back_with_its_type():
    rows = [
        ["标题", 3, 2.5, True, datetime(2025, 9, 30, 10, 0), date(2025, 10, 1), None],
        [NASTY, -7, 0.1, False, datetime(1999, 12, 31, 23, 59), date(1900, 3, 1), None],
        ['=HYPERLINK("http://x")', 0, 1e-9, None, None, None, None],
        ["  两端有空格 \n第二行 ", None, None, None, datetime(2025, 1, 1), None, None],
    ]
    n, data = _book(rows)
    assert n == 4
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.title == "案件"
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    assert got[0] == HEADERS
    # A date is a whole day's serial number in a date format: it reads back as midnight.
    assert got[1] == [*rows[0][:5], datetime(2025, 10, 1), None]
    assert got[2][0] == "<&>\"' =1+1 end" and got[2][1:5] == rows[1][1:5]
    assert got[2][5] == datetime(1900, 3, 1) and ws["F2"].number_format == "yyyy-mm-dd"
    assert got[3][0] == '=HYPERLINK("http://x")' and ws["A4"].data_type == "s"
    assert got[4][0] == "  两端有空格 \n第二行 " and got[4][4] == datetime(2025, 1, 1)
    assert all(type(v) is datetime for v in (got[1][4], got[2][4], got[1][5]))
    assert isinstance(got[1][3], bool) and isinstance(got[1][1], int)
    assert ws["E2"].number_format == "yyyy-mm-dd hh:mm" and ws["E2"].is_date
    assert all(c.font.b for c in ws[1]) and not ws["A2"].font.b
    assert ws.freeze_panes == "B2"
    assert ws.column_dimensions["A"].width == 30 and ws.column_dimensions["E"].width == 17


def test_rows_keep_their_width_in_read_only_mode():
    _, data = _book([["甲", 1, None, None, None, None, None], ["乙", None, None, None, None]])
    ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    assert got[1] == ["甲", 1, None, None, None, None, None]
    assert got[2] == ["乙", None, None, None, None]


def test_every_part_is_well_formed_xml_and_declared():
    _, data = _book([[NASTY, 1, 1.5, True, datetime(2025, 1, 1), date(2025, 1, 1), None]])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        assert names == {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        }
        for name in names:
            ElementTree.fromstring(zf.read(name))  # raises on anything malformed
        types = zf.read("[Content_Types].xml").decode()
        assert "/xl/worksheets/sheet1.xml" in types and "/xl/styles.xml" in types
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert 'state="frozen"' in sheet and 'topLeftCell="B2"' in sheet
    assert "\x01" not in sheet and "&lt;&amp;&gt;" in sheet


def test_rows_are_written_as_they_come():
    out = io.BytesIO()
    seen = []

    def rows():
        for i in range(20_000):
            if i == 19_999:
                seen.append(out.tell())
            yield [f"第{i}行 {'x' * 40}", i, None, None, None, None, None]

    assert xlsx_stream.write(out, sheet="s", headers=HEADERS, rows=rows()) == 20_000
    # Compressed bytes reached the file before the last row was even produced.
    assert seen[0] > 50_000
    ws = load_workbook(out, read_only=True).worksheets[0]
    assert sum(1 for _ in ws.iter_rows()) == 20_001


@pytest.mark.parametrize(
    ("kw", "rows"),
    [
        ({"sheet": "a/b"}, []),
        ({"sheet": "x" * 32}, []),
        ({}, [[datetime(2025, 1, 1).astimezone()]]),
        ({}, [["太长"] * 8]),
        ({}, [[float("nan")]]),
        ({}, [[object()]]),
    ],
)
def test_what_a_workbook_cannot_hold_is_refused(kw, rows):
    with pytest.raises((ValueError, TypeError)):
        _book(rows, **kw)


def test_column_letters():
    assert [xlsx_stream.column_letter(i) for i in (0, 18, 25, 26, 51, 701, 702)] == [
        "A",
        "S",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
    ]
