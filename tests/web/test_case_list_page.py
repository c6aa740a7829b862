"""The /cases page's filter form (every filter, kept in the links), its export, and the filing
page's one-time token."""

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from tests.factories import NOW, act, new_case
from tests.web.conftest import csrf_of
from tests.web.test_pages_flow import PNG, _cases


def _numbers(html: str) -> list[str]:
    return re.findall(r'data-testid="case-row" data-case-id="\d+" data-number="([^"]+)"', html)


def _world(session, org):
    east = new_case(session, org, grid="G1", now=NOW - timedelta(days=3))
    south = new_case(session, org, by="rep3", grid="G3", category="0102")
    act(session, org, east, "dispatch", "disp", NOW - timedelta(days=3), unit_code="ZJ")
    session.commit()
    return east, south


def test_the_form_offers_every_filter_and_keeps_them(web, session, org):
    east, south = _world(session, org)
    c = web("disp")
    html = c.get("/cases").text
    for name in (
        "q",
        "street_code",
        "community_code",
        "grid_code",
        "unit_code",
        "category_code",
        "kind",
        "grade",
        "listed",
        "urgent",
        "state",
        "overdue",
        "reported_from",
        "reported_to",
        "due_from",
        "due_to",
        "closed_from",
        "closed_to",
        "sort",
    ):
        assert f'name="{name}"' in html, name
    assert "市容环境（全部小类）" in html and "导出 Excel" in html
    r = c.get("/cases", params={"street_code": "S1", "reported_to": "2025-09-28"})
    assert _numbers(r.text) == [east.number]
    assert 'value="S1" data-path="/D1/S1/" selected' in r.text
    assert 'value="2025-09-28"' in r.text
    assert 'href="/cases.xlsx?street_code=S1&amp;reported_to=2025-09-28"' in r.text
    both = c.get("/cases", params={"state": ["reported", "dispatched"], "sort": "reported_at"})
    assert _numbers(both.text) == [east.number, south.number]
    assert both.text.count("checked") == 2
    assert _numbers(c.get("/cases", params={"category_code": "01", "urgent": "0"}).text) == [
        south.number,
        east.number,
    ]


def test_the_places_offered_are_the_users_jurisdiction(web, session, org):
    _world(session, org)
    html = web("disp_s2").get("/cases").text
    assert 'value="S2"' in html and 'value="S1"' not in html
    assert 'value="G3"' in html and 'value="G1"' not in html


def test_bad_filters_redraw_the_page_with_the_field_named(web, session, org):
    _world(session, org)
    c = web("disp")
    for params, field in (
        ({"reported_from": "2025-09-30", "reported_to": "2025-09-01"}, "reported_to"),
        ({"due_from": "yesterday"}, "due_from"),
        ({"street_code": "G1"}, "street_code"),
        ({"sort": "title"}, "sort"),
    ):
        r = c.get("/cases", params=params)
        assert r.status_code == 422, params
        assert 'data-testid="error"' in r.text and field in r.text, params
        assert 'data-testid="case-filter"' in r.text
    assert c.get("/cases", params={"state": "nonsense", "kind": "x"}).status_code == 200


def test_the_pager_keeps_the_filters(web, session, org):
    for _ in range(51):
        new_case(session, org, grid="G1")
    session.commit()
    html = web("disp").get("/cases", params={"street_code": "S1", "state": "reported"}).text
    assert 'href="?page=2&amp;street_code=S1&amp;state=reported"' in html


def test_the_page_exports_what_it_lists(web, session, org):
    east, _ = _world(session, org)
    r = web("disp").get("/cases.xlsx", params={"street_code": "S1"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    rows = list(load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "案件编号" and [row[0] for row in rows[1:]] == [east.number]


def _form(c):
    html = c.get("/report/new").text
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    assert token and token.group(1).startswith("form-")
    assert 'data-sending="提交中…"' in html
    return {
        "csrf_token": csrf_of(html),
        "form_token": token.group(1),
        "kind": "event",
        "category_code": "0101",
        "grid_code": "G1",
        "title": "井盖缺失",
    }


def test_the_same_form_sent_twice_files_one_case(web, session, org):
    c = web("rep1")
    data = _form(c)
    photo = [("photos", ("现场.png", PNG, "image/png"))]
    first = c.post("/report/new", data=data, files=photo, follow_redirects=False)
    second = c.post("/report/new", data=data, files=photo, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_cases(session)) == 1
    another = c.post("/report/new", data=_form(c), follow_redirects=False)
    assert another.status_code == 303 and len(_cases(session)) == 2


def test_a_refused_form_keeps_its_token_and_files_once_corrected(web, session, org):
    c = web("rep1")
    data = _form(c)
    r = c.post("/report/new", data={**data, "title": ""}, follow_redirects=False)
    assert r.status_code == 422 and f'value="{data["form_token"]}"' in r.text
    assert c.post("/report/new", data=data, follow_redirects=False).status_code == 303
    assert c.post("/report/new", data=data, follow_redirects=False).status_code == 303
    assert len(_cases(session)) == 1
