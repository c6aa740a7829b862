"""Issue 12 points 8 and 10 on the pages: returned cases marked in the queue and not sent back
to the unit that refused them, a handler's return lands on the inbox, urgent cases marked in
every list, messages that name actions and fields in the reader's language, the deadline the
inbox counts, a timeline without raw ids or glued times."""

import re
from datetime import timedelta

from sqlmodel import select

from models.attachment import Attachment
from models.case import Case
from tests.factories import NOW, act, case_in, evidence, new_case
from tests.web.test_pages_flow import _act, _report


def _row(html: str, case_id: int) -> str:
    match = re.search(rf'<li class="row"[^>]*data-case-id="{case_id}".*?</li>', html, re.S)
    assert match, f"no row for case {case_id}"
    return match.group(0)


def _text(html: str) -> str:
    """What a reader sees: the tags gone, whitespace as the browser collapses it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _returned(session, org):
    case = case_in(session, org, "dispatched")  # 0101 routes to ZJ, dispatched to ZJ
    act(session, org, case, "return", "h_zj", reason="不属于本单位职责")
    session.commit()
    return case


# --- point 8: the desk ---------------------------------------------------------------------


def test_queue_marks_a_returned_case_with_reason_and_unit(web, session, org):
    case = _returned(session, org)
    fresh = new_case(session, org)
    session.commit()
    html = web("disp").get("/queue").text
    row = _row(html, case.id)
    assert 'data-testid="returned-mark"' in row
    assert "区住房和建设局退回" in _text(row) and "不属于本单位职责" in row
    assert 'data-testid="returned-mark"' not in _row(html, fresh.id)
    # Not preselected: the unit that returned it (the category's routing unit) is not chosen.
    assert '<option value="ZJ" selected>' not in row
    assert "该单位已退回此案件：不属于本单位职责" in row
    # A case nobody returned keeps its routing unit preselected.
    assert '<option value="ZJ" selected>' in _row(html, fresh.id)


def test_queue_mark_reads_in_english(web, session, org):
    case = _returned(session, org)
    c = web("disp")
    c.get("/lang?to=en&next=/queue")
    row = _text(_row(c.get("/queue").text, case.id))
    assert "Returned by 区住房和建设局" in row and "This unit returned the case" in row


def test_case_page_does_not_preselect_the_unit_that_returned_it(web, session, org):
    case = _returned(session, org)
    html = web("disp").get(f"/cases/{case.id}").text
    form = re.search(r'data-testid="form-dispatch".*?</form>', html, re.S)
    assert form
    assert "selected" not in form.group(0).split("</select>")[0]
    assert "该单位已退回此案件：不属于本单位职责" in form.group(0)
    # Another unit that did not return it may be dispatched to (and then is preselected no more
    # than before: the dispatcher chose it).
    r = _act(web("disp"), case.id, "dispatch", unit_code="SW")
    assert r.status_code == 303


def test_a_handler_who_returns_lands_on_the_inbox_with_a_confirmation(web, session, org):
    case = case_in(session, org, "dispatched")
    session.commit()
    handler = web("h_zj")
    r = _act(handler, case.id, "return", reason="不属于本单位职责")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/inbox?")
    page = handler.get(r.headers["location"])
    assert page.status_code == 200
    assert f"已退回案件 {case.number}" in page.text and "不在您的管辖范围内" not in page.text
    handler.get("/lang?to=en&next=/inbox")
    assert f"Case {case.number} returned" in handler.get(r.headers["location"]).text


def test_a_handler_who_submits_still_sees_the_case(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    handler = web("h_zj")
    r = _act(handler, case.id, "submit", note="已整改")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/cases/{case.id}")
    assert handler.get(r.headers["location"]).status_code == 200


def test_the_confirmation_echoes_only_a_case_number(web, session, org):
    c = web("h_zj")
    html = c.get("/inbox?ok=return&n=" + "<b>hi</b>").text
    assert "<b>hi</b>" not in html and "&lt;b&gt;" not in html
    assert "已退回案件" not in html
    assert 'data-testid="flash"' not in c.get("/inbox?ok=not-an-action").text


def test_urgent_cases_show_a_badge_in_every_list(web, session, org):
    reported = new_case(session, org, urgent=True)
    dispatched = new_case(session, org, urgent=True)
    act(session, org, dispatched, "dispatch", "disp", unit_code="ZJ")
    quiet = new_case(session, org)
    session.commit()
    badge = 'data-testid="urgent-badge"'
    lists = {
        "/queue": ("disp", reported),
        "/inbox": ("h_zj", dispatched),
        "/cases": ("disp", reported),
        "/my": ("rep1", reported),
        f"/cases/{reported.id}": ("disp", None),
    }
    for path, (who, case) in lists.items():
        html = web(who).get(path).text
        if case is None:
            assert badge in html and "紧急" in html, path
            continue
        assert badge in _row(html, case.id), path
        if path in ("/queue", "/cases", "/my"):
            assert badge not in _row(html, quiet.id), path


def test_urgent_badge_on_the_dashboard_lists(web, session, org):
    late = new_case(session, org, urgent=True, now=NOW - timedelta(days=30))
    act(session, org, late, "dispatch", "disp", unit_code="ZJ", now=NOW - timedelta(days=30))
    act(session, org, late, "sign", "h_zj", now=NOW - timedelta(days=30))
    act(session, org, late, "request_extension", "h_zj", reason="材料未到", days=3)
    session.commit()
    html = web("sup").get("/dashboard").text
    rows = re.findall(rf'<li class="row"[^>]*data-case-id="{late.id}".*?</li>', html, re.S)
    assert rows and all('data-testid="urgent-badge"' in r for r in rows)


# --- point 10: the words -------------------------------------------------------------------


def test_a_missing_reason_names_the_action_not_its_code(web, session, org):
    case = case_in(session, org, "dispatched")
    session.commit()
    handler = web("h_zj")
    r = _act(handler, case.id, "return", reason="")
    assert r.status_code == 422 and "退单需要填写原因" in r.text and "return 需要" not in r.text
    handler.get(f"/lang?to=en&next=/cases/{case.id}")
    r = _act(handler, case.id, "return", reason="")
    assert "Returning a case needs a reason" in r.text


def test_extension_days_out_of_range_name_the_field_and_the_range(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    handler = web("h_zj")
    for days in ("0", "-3", "9999"):
        r = _act(handler, case.id, "request_extension", reason="材料未到", days=days)
        assert r.status_code == 422, days
        assert "延期天数必须在 1 到 365 个工作日之间" in r.text and "输入有误" not in r.text
    handler.get(f"/lang?to=en&next=/cases/{case.id}")
    r = _act(handler, case.id, "request_extension", reason="材料未到", days="0")
    assert "Extension days must be between 1 and 365 working days" in r.text


def test_a_long_title_names_the_field_and_its_limit(web, session, org):
    rep = web("rep1")
    r = _report(rep, title="长" * 10_000, photos=())
    assert r.status_code == 422
    assert "标题最长 200 个字符" in r.text and "输入有误" not in r.text
    rep.get("/lang?to=en&next=/report/new")
    r = _report(rep, title="长" * 10_000, photos=())
    assert "Title can be at most 200 characters long" in r.text


def test_an_upload_refusal_lists_the_accepted_types(web, session, org):
    rep = web("rep1")
    r = _report(rep, photos=(("virus.exe", b"MZ\x90\x00" * 20, "application/octet-stream"),))
    assert r.status_code == 415
    assert "不支持的文件类型 virus.exe；可上传：JPEG、PNG、WebP、HEIC、PDF" in r.text


def test_a_notice_reads_in_chinese_only_on_the_chinese_pages(web, session, org):
    _returned(session, org)
    c = web("disp")
    html = c.get("/messages").text
    assert "案件被退单，请重新派遣" in html
    assert "dispatch again" not in html and "returned:" not in html
    c.get("/lang?to=en&next=/messages")
    html = c.get("/messages").text
    assert "dispatch again" in html and "请重新派遣" not in html


def test_the_inbox_names_the_deadline_its_countdown_counts(web, session, org):
    to_sign = case_in(session, org, "dispatched")
    fixing = case_in(session, org, "rectifying")
    checking = case_in(session, org, "verifying")
    session.commit()
    handler = web("h_zj")
    html = handler.get("/inbox").text

    def label(case):
        m = re.search(r'data-testid="deadline-label">([^<]*)<', _row(html, case.id))
        assert m, case.id
        return m.group(1)

    assert label(to_sign) == "签收期限"
    assert label(fixing) == "整改期限"
    assert label(checking) == "核查期限"
    handler.get("/lang?to=en&next=/inbox")
    html = handler.get("/inbox").text
    assert label(checking) == "Verify by" and label(fixing) == "Deadline"


def test_the_timeline_reads_cleanly(web, session, org):
    rep = web("rep1")
    assert _report(rep).status_code == 303
    session.expire_all()
    case = session.exec(select(Case)).one()
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    act(session, org, case, "sign", "h_zj")
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=3)
    act(session, org, case, "approve_extension", "sup", days=3)
    ids = [evidence(session, org, case)]
    act(session, org, case, "submit", "h_zj", note="已整改", attachment_ids=ids)
    act(session, org, case, "reject", "disp", reason="照片不清晰")
    session.commit()
    case_id = case.id
    files = {a.id: a.filename for a in session.exec(select(Attachment))}
    session.rollback()  # no read held open while the app serves (SQLite)
    r = web("disp").get(f"/cases/{case_id}")
    assert r.status_code == 200, r.text
    html = r.text
    timeline = html.split('data-testid="timeline"')[1].split("</ol>")[0]
    text = _text(timeline)
    assert not re.search(r"\d{2}:\d{2}\d", text), text  # no time glued to a number
    assert "23:59 · 3 个工作日" in text
    assert "#" not in text and "ZJ" not in text
    for user_id in (org["h_zj"].id, org["disp"].id):
        assert f">{user_id}<" not in timeline
    assert "after.png" in text and "整改后" in text
    photos = html.split('data-testid="photos"')[1].split("</ul>")[0]
    phases = dict(re.findall(r'href="/attachments/(\d+)".*?data-phase="(\w+)"', photos, re.S))
    assert {files[int(i)]: p for i, p in phases.items()} == {
        "现场.png": "before",
        "after.png": "after",
    }
    assert "整改前" in photos and "整改后" in photos


def test_the_timeline_names_the_unit_that_returned_it(web, session, org):
    case = _returned(session, org)
    html = web("disp").get(f"/cases/{case.id}").text
    timeline = _text(html.split('data-testid="timeline"')[1].split("</ol>")[0])
    assert "退回单位 区住房和建设局" in timeline and "ZJ" not in timeline
