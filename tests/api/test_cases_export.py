"""GET /api/v1/cases.xlsx: exactly the list's cases for the same query, every page, in its order,
with Chinese headers and names."""

import io
from datetime import datetime

from openpyxl import load_workbook

from closeloop.cases.export import HEADERS, WIDTHS
from models.case import Case
from tests.api.test_cases_api import _act, _file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(client, headers, **params):
    r = client.get("/api/v1/cases.xlsx", headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    rows = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    assert int(r.headers["x-total-count"]) == len(rows) - 1
    return rows


def _listed(client, headers, **params):
    """The API list for the same query, every page."""
    items, page = [], 1
    while True:
        r = client.get("/api/v1/cases", headers=headers, params={**params, "page": page})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if page * r.json()["page_size"] >= r.json()["total"]:
            return items
        page += 1


def _world(client, auth):
    disp = auth("disp")
    made = [_file(client, auth("rep1"), title=f"事件{i}").json() for i in range(3)]
    made.append(_file(client, auth("rep3"), grid_code="G3", category_code="0102").json())
    made.append(
        _file(client, disp, kind="hazard", grade="major", grid_code="G2", urgent=True).json()
    )
    _act(client, disp, made[0], "dispatch")
    _act(client, disp, made[4], "dispatch", unit_code="SW")
    _file(client, auth("rep1"), title='=HYPERLINK("http://x")')
    return made


def test_headers_are_chinese_and_rows_match_the_list(client, auth):
    made = _world(client, auth)
    disp = auth("disp")
    for params in (
        {},
        {"street_code": "S1"},
        {"state": ["reported", "dispatched"], "sort": "reported_at"},
        {"category_code": "01", "sort": "-dispatched_at"},
        {"reported_from": "2025-09-30", "reported_to": "2025-09-30", "page_size": 2},
        {"grade": "major"},
        {"street_code": "S2", "urgent": "true"},
    ):
        rows = _sheet(client, disp, **params)
        assert rows[0] == HEADERS
        listed = _listed(client, disp, **params)
        assert [r[0] for r in rows[1:]] == [c["number"] for c in listed], params
    rows = {r[0]: dict(zip(HEADERS, r, strict=True)) for r in _sheet(client, disp)[1:]}
    hazard = rows[made[4]["number"]]
    assert hazard["类型"] == "隐患" and hazard["状态"] == "待签收"
    assert hazard["等级"] == "重大事故隐患" and hazard["紧急"] == "是"
    assert hazard["挂牌督办"] == "是" and hazard["处置单位"] == "区水务局"
    assert hazard["街道"] == "东门街道" and hazard["社区"] == "湖贝社区"
    assert hazard["网格"] == "湖贝第二网格（G2）"
    assert hazard["是否超期"] == "否" and hazard["返工次数"] == 0
    # Times are Shanghai wall time: the fixed clock's 02:00 UTC is 10:00.
    assert hazard["上报时间"] == datetime(2025, 9, 30, 10, 0)
    assert isinstance(hazard["截止时间"], datetime) and hazard["办结时间"] is None
    event = rows[made[3]["number"]]
    assert event["类别"] == "市容环境 / 污水冒溢（0102）" and event["处置单位"] in ("", None)
    assert event["地址"] == "东门路12号" and event["状态"] == "待受理"
    # A title that looks like a formula stays text.
    assert '=HYPERLINK("http://x")' in {r["标题"] for r in rows.values()}


def test_the_export_keeps_jurisdiction(client, auth):
    _world(client, auth)
    rows = _sheet(client, auth("disp_s2"))
    assert len(rows) == 2 and rows[1][5] == "南湖街道"
    assert len(_sheet(client, auth("h_sw"))) == 2
    assert len(_sheet(client, auth("h_sw"), street_code="S2")) == 1  # the header alone


def test_cases_xlsx_is_not_taken_for_a_case_id(client, auth):
    r = client.get("/api/v1/cases.xlsx", headers=auth("disp"))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert client.get("/api/v1/cases.xlsx").status_code == 401


def test_the_file_is_a_workbook_spreadsheets_read(client, auth, session):
    disp = auth("disp")
    made = _file(client, auth("rep1"), title="井盖<&>\"'缺失").json()
    # A control character cannot be in XML 1.0: the export drops it (as if stored by an import).
    stored = session.get(Case, made["id"])
    stored.title = "井盖<&>\"'\x01缺失"
    session.add(stored)
    session.commit()
    r = client.get("/api/v1/cases.xlsx", headers=disp)
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert ws.freeze_panes == "B2" and all(c.font.b for c in ws[1])
    assert [ws.column_dimensions[c].width for c in "ADS"] == [WIDTHS[0], WIDTHS[3], WIDTHS[18]]
    row = [c.value for c in ws[2]]
    assert row[0] == made["number"] and row[3] == "井盖<&>\"'缺失"
    assert isinstance(row[13], datetime) and ws.cell(2, 14).is_date
    assert row[16] is None and row[17] == "否" and row[18] == 0
