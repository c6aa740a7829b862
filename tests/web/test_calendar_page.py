"""The calendar page: anyone signed in reads a year; an admin enters a holiday notice, all or
nothing; deadlines in a year the calendar does not know are flagged on the case page and lists."""

from datetime import date, datetime

from sqlmodel import select

from closeloop.db import new_session
from models.system import CalendarOverride
from models.types import SHANGHAI
from tests.factories import act, case_in, new_case
from tests.web.conftest import csrf_of

FLAG = "截止时间按普通工作日估算：2031年节假日安排尚未录入"


def test_a_known_year_shows_its_holidays_and_make_up_days(web) -> None:
    page = web("disp").get("/admin/calendar?year=2025")
    assert page.status_code == 200
    text = page.text
    assert "春节" in text and "国庆节" in text and "2025-01-28 – 2025-02-04" in text
    assert "2025-09-28" in text  # a make-up Sunday (调休)
    assert 'data-testid="working-days">248<' in text
    assert 'data-testid="year-estimated"' not in text
    assert 'data-testid="notice-form"' not in text  # only an admin enters a notice


def test_an_unknown_year_is_flagged_until_its_notice_is_entered(web) -> None:
    c = web("admin")
    page = c.get("/admin/calendar?year=2031").text
    assert 'data-testid="year-estimated"' in page and 'data-testid="notice-form"' in page
    token = csrf_of(page)
    notice = {
        "csrf_token": token,
        "year": "2031",
        "h_name_0": "元旦",
        "h_start_0": "2031-01-01",
        "h_end_0": "2031-01-01",
        "h_name_1": "春节",
        "h_start_1": "2031-01-22",
        "h_end_1": "2031-01-28",
        "m_day_0": "2031-01-19",
        "m_name_0": "春节调休",
    }
    r = c.post("/admin/calendar", data=notice, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    assert 'data-testid="year-estimated"' not in page
    assert "2031-01-22 – 2031-01-28 春节" in page and "2031-01-19 – " not in page
    with new_session(c.app.state.engine) as s:
        rows = s.exec(select(CalendarOverride)).all()
        assert len(rows) == 9 and sum(r.workday for r in rows) == 1


def test_a_bad_notice_is_redrawn_and_saves_nothing(web) -> None:
    c = web("admin")
    token = csrf_of(c.get("/admin/calendar?year=2031").text)
    notice = {
        "csrf_token": token,
        "year": "2031",
        "h_name_0": "元旦",
        "h_start_0": "2031-01-01",
        "h_end_0": "2031-01-01",
        "h_name_1": "春节",
        "h_start_1": "2031-01-28",
        "h_end_1": "2031-01-22",
    }
    r = c.post("/admin/calendar", data=notice)
    assert r.status_code == 422
    assert "第 2 个假期（春节）" in r.text and 'value="2031-01-28"' in r.text
    assert c.post("/admin/calendar", data={**notice, "csrf_token": ""}).status_code == 403
    r = c.post("/admin/calendar", data={**notice, "h_end_1": "not a date"})
    assert r.status_code == 422 and "假期 2 · 结束日期" in r.text
    with new_session(c.app.state.engine) as s:
        assert s.exec(select(CalendarOverride)).first() is None
    # A non-admin may read the calendar but not change it.
    disp = web("disp")
    assert (
        disp.post(
            "/admin/calendar",
            data={**notice, "csrf_token": csrf_of(disp.get("/admin/calendar").text)},
        ).status_code
        == 403
    )


def test_a_deadline_in_an_unknown_year_is_flagged_on_the_case_page_and_lists(
    web, session, org
) -> None:
    known = case_in(session, org, "dispatched")
    late = new_case(session, org)
    act(
        session,
        org,
        late,
        "dispatch",
        "disp",
        unit_code="ZJ",
        due_at=datetime(2031, 3, 3, 23, 59, 59, tzinfo=SHANGHAI),
    )
    session.commit()
    disp, handler = web("disp"), web("h_zj")
    page = disp.get(f"/cases/{late.id}").text
    assert FLAG in page and 'href="/admin/calendar?year=2031"' in page
    assert "估算" not in disp.get(f"/cases/{known.id}").text
    assert FLAG in disp.get("/cases").text
    assert FLAG in handler.get("/inbox").text
    assert FLAG not in disp.get("/cases?state=reported").text
    assert FLAG in web("rep1").get("/my").text, "the grid worker's own list shows the deadline"
    assert FLAG not in web("rep3").get("/my").text
    assert FLAG not in web("sup").get("/dashboard").text
    act(session, org, late, "sign", "h_zj")
    act(session, org, late, "suspend", "sup", reason="等待产权单位出具鉴定")
    session.commit()
    assert FLAG in web("sup").get("/dashboard").text, "the dashboard's suspended list shows it"
    # Once 2031's arrangement is entered, nothing is estimated any more.
    admin = web("admin")
    token = csrf_of(admin.get("/admin/calendar?year=2031").text)
    admin.post(
        "/admin/calendar",
        data={
            "csrf_token": token,
            "year": "2031",
            "h_name_0": "元旦",
            "h_start_0": "2031-01-01",
            "h_end_0": "2031-01-01",
        },
    )
    assert FLAG not in disp.get(f"/cases/{late.id}").text
    assert date(2031, 1, 1).year == 2031
