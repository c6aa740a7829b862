"""Each role's pages do the job: file with a photo, dispatch, sign, submit, reject, approve;
errors show their message and keep what was typed; jurisdiction is the API's."""

import re

from sqlmodel import select

from models.attachment import Attachment
from models.case import Case
from tests.factories import NOW, act, case_in, new_case
from tests.web.conftest import csrf_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


def _report(c, *, photos=(("现场.png", PNG, "image/png"),), **fields):
    page = c.get("/report/new")
    data = {
        "csrf_token": csrf_of(page.text),
        "kind": "event",
        "category_class": "01",
        "category_code": "0101",
        "grid_code": "G1",
        "title": "路口占道经营",
        "description": "早市摊档占道",
        "address": "东门路1号",
        "lat": "22.54",
        "lon": "114.12",
    }
    data.update(fields)
    files = [("photos", p) for p in photos]
    return c.post("/report/new", data=data, files=files or None, follow_redirects=False)


def _act(c, case_id, action, *, page="", files=None, **fields):
    html = c.get(page or f"/cases/{case_id}").text
    form = re.search(rf'<form[^>]*action="/cases/{case_id}/act/{action}".*?</form>', html, re.S)
    assert form, f"no {action} form for case {case_id}"
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))
    data.update(fields)
    return c.post(f"/cases/{case_id}/act/{action}", data=data, files=files, follow_redirects=False)


def _read(session, stmt):
    """Rows read and detached, ending the read at once: SQLite transactions here are
    BEGIN IMMEDIATE, so a test must not hold one while the app serves a request."""
    session.expire_all()
    rows = list(session.exec(stmt))
    session.expunge_all()
    session.rollback()
    return rows


def _cases(session):
    return _read(session, select(Case).order_by(Case.id))


def test_reporter_files_an_event_with_a_photo(web, session, org):
    c = web("rep1")
    form = c.get("/report/new").text
    assert 'capture="environment"' in form and 'accept="image/*"' in form
    assert re.search(r'<option value="G1" selected', form)  # the only grid of rep1, preselected
    r = _report(c)
    assert r.status_code == 303, r.text
    [case] = _cases(session)
    assert r.headers["location"] == f"/cases/{case.id}?ok=file"
    assert (case.title, case.grid_code, case.lat, case.reporter_id) == (
        "路口占道经营",
        "G1",
        22.54,
        org["rep1"].id,
    )
    [photo] = _read(session, select(Attachment).where(Attachment.case_id == case.id))
    page = c.get(r.headers["location"]).text
    assert 'data-testid="flash"' in page and f'src="/attachments/{photo.id}"' in page
    assert re.search(
        r'data-testid="photo-by">[^<]*' + org["rep1"].display_name, page
    )  # who took it
    img = c.get(f"/attachments/{photo.id}")
    assert img.status_code == 200 and img.content == PNG
    mine = c.get("/my").text
    assert case.number in mine and 'data-state="reported"' in mine and "等待受理派遣" in mine


def test_a_bad_photo_files_nothing_and_keeps_the_input(web, session, org):
    c = web("rep1")
    r = _report(c, photos=[("a.png", PNG, "image/png"), ("virus.exe", b"MZ\x90\x00", "image/png")])
    assert r.status_code == 415
    assert 'data-testid="error"' in r.text and "不支持的文件类型" in r.text
    assert 'value="路口占道经营"' in r.text and "早市摊档占道" in r.text
    assert re.search(r'<option value="0101" data-class="01" selected', r.text)
    assert _cases(session) == []


def test_missing_fields_are_named_and_input_kept(web, session, org):
    c = web("rep1")
    r = _report(c, title="", photos=())
    assert r.status_code == 422 and "请填写：标题" in r.text and "东门路1号" in r.text
    assert _cases(session) == []


def test_english_error_message(web, session, org):
    c = web("rep1")
    c.get("/lang?to=en&next=/my")
    r = _report(c, grid_code="G3", photos=())
    assert r.status_code == 403
    assert "that grid is outside your jurisdiction" in r.text and "网格不在" not in r.text


def test_the_whole_loop_through_the_pages(web, session, org):
    rep, disp, handler = web("rep1"), web("disp"), web("h_zj")
    assert _report(rep).status_code == 303
    [case] = _cases(session)
    queue = disp.get("/queue").text
    assert case.number in queue
    # The category's default unit (0101 → ZJ) is preselected.
    assert re.search(r'<option value="ZJ" selected>', queue)
    r = _act(disp, case.id, "dispatch", page="/queue", unit_code="ZJ")
    assert r.status_code == 303 and r.headers["location"] == "/queue?ok=dispatch"
    inbox = handler.get("/inbox").text
    to_sign = inbox.split('data-testid="inbox-to-sign"')[1].split("</section>")[0]
    assert case.number in to_sign and 'data-testid="time-left"' in to_sign
    assert _act(handler, case.id, "sign", page="/inbox").status_code == 303
    r = _act(
        handler,
        case.id,
        "submit",
        note="已清理",
        files=[("files", ("after.png", PNG, "image/png"))],
    )
    assert r.status_code == 303
    # Reject without a reason: the message, the page, and nothing changed.
    r = _act(disp, case.id, "reject", reason="")
    assert r.status_code == 422 and "需要填写原因" in r.text
    assert _cases(session)[0].state == "verifying"
    assert _act(disp, case.id, "reject", reason="照片不清晰").status_code == 303
    assert _cases(session)[0].rework_count == 1
    assert _act(handler, case.id, "submit", note="已重新整改").status_code == 303
    assert _act(disp, case.id, "approve", note="通过").status_code == 303
    [done] = _cases(session)
    assert done.state == "closed"
    page = rep.get(f"/cases/{case.id}").text
    assert 'data-state="closed"' in page
    steps = re.findall(r'data-testid="timeline-item" data-action="(\w+)"', page)
    assert steps == ["file", "dispatch", "sign", "submit", "reject", "submit", "approve"]


def test_stale_version_gets_the_conflict_message_and_keeps_input(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    c = web("h_zj")
    html = c.get(f"/cases/{case.id}").text
    act(session, org, case, "request_suspension", "h_zj", reason="产权纠纷")
    session.commit()
    token = csrf_of(html)
    r = c.post(
        f"/cases/{case.id}/act/request_extension",
        data={
            "csrf_token": token,
            "version": str(case.version - 1),
            "days": "5",
            "reason": "需采购材料",
        },
    )
    assert r.status_code == 409 and "请刷新后重试" in r.text
    assert "需采购材料" in r.text and 'value="5"' in r.text


def test_only_allowed_buttons_are_shown(web, session, org):
    case = case_in(session, org, "dispatched")
    session.commit()
    page = web("h_zj").get(f"/cases/{case.id}").text
    forms = re.findall(r'data-testid="form-(\w+)"', page)
    assert sorted(forms) == ["return", "sign"]
    assert re.findall(r'data-testid="form-(\w+)"', web("rep1").get(f"/cases/{case.id}").text) == []


def test_a_handler_cannot_open_another_units_case(web, session, org):
    case = case_in(session, org, "dispatched")  # dispatched to ZJ
    session.commit()
    c = web("h_sw")
    r = c.get(f"/cases/{case.id}")
    assert r.status_code == 403 and "不在您的管辖范围内" in r.text
    r = c.post(f"/cases/{case.id}/act/sign", data={"csrf_token": csrf_of(c.get("/inbox").text)})
    assert r.status_code == 403
    assert _cases(session)[0].state == "dispatched"


def test_the_refusal_names_the_case_once_in_the_readers_language(web, session, org):
    case = case_in(session, org, "dispatched")  # dispatched to ZJ
    session.commit()
    c = web("h_sw")
    page = c.get(f"/cases/{case.id}").text
    assert f"案件 {case.number}不在您的管辖范围内" in page
    assert " / " not in page.split(f"案件 {case.number}", 1)[1].split("<", 1)[0]
    assert f"case {case.number}" not in page
    c.get(f"/lang?to=en&next=/cases/{case.id}")
    page = c.get(f"/cases/{case.id}").text
    assert f"case {case.number} is outside your jurisdiction" in page
    assert f"案件 {case.number}" not in page
    assert case.number not in c.get("/inbox").text
    assert web("rep3").get(f"/cases/{case.id}").status_code == 403
    assert c.get("/cases/999999").status_code == 404


def test_merge_into_a_possible_duplicate(web, session, org):
    first = new_case(session, org)
    second = new_case(session, org)
    session.commit()
    c = web("disp")
    queue = c.get("/queue").text
    assert f'data-testid="duplicate-link" data-case-id="{first.id}"' in queue
    r = _act(c, second.id, "merge", target_case_id=str(first.id))
    assert r.status_code == 303
    merged = [x for x in _cases(session) if x.id == second.id][0]
    assert merged.state == "cancelled" and merged.merged_into_id == first.id


def test_the_grid_worker_verifies_their_own_event(web, session, org):
    case = case_in(session, org, "verifying")  # filed by rep1
    session.commit()
    c = web("rep1")
    assert "待您核查" in c.get("/my").text
    assert _act(c, case.id, "approve", note="现场已恢复").status_code == 303
    assert _cases(session)[0].state == "closed"


def test_a_hazard_needs_evidence_and_the_note_is_kept(web, session, org):
    case = case_in(session, org, "rectifying", kind="hazard")
    session.commit()
    c = web("h_zj")
    r = _act(c, case.id, "submit", note="已加固脚手架")
    assert r.status_code == 422 and "需附证明材料" in r.text and "已加固脚手架" in r.text
    assert _cases(session)[0].state == "rectifying"
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = _act(
        c,
        case.id,
        "submit",
        note="已加固脚手架",
        files=[("files", ("整改报告.pdf", pdf, "application/pdf"))],
    )
    assert r.status_code == 303
    page = c.get(f"/cases/{case.id}").text
    assert 'data-testid="document"' in page and "整改报告.pdf" in page


def test_a_unit_replies_to_a_supervision_letter_from_its_inbox(web, session, org):
    from closeloop.letters import service as letters
    from models.enums import LetterType

    late = case_in(session, org, "rectifying")
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[late.id],
        now=NOW,
        actor=org["sup"],
    )
    session.commit()
    own, number = letter.case_id, letter.number
    c = web("h_zj")
    inbox = c.get("/inbox").text
    to_sign = inbox.split('data-testid="inbox-to-sign"')[1].split("</section>")[0]
    assert f'data-case-id="{own}"' in to_sign
    assert _act(c, own, "sign", page="/inbox").status_code == 303
    page = c.get(f"/cases/{own}").text
    assert "反馈材料" in page and number in page
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = _act(
        c, own, "submit", note="已按期整改", files=[("files", ("反馈.pdf", pdf, "application/pdf"))]
    )
    assert r.status_code == 303
    state = [x.state for x in _cases(session) if x.id == own]
    assert state == ["verifying"]


def test_dispatch_with_an_explicit_deadline_date(web, session, org):
    case = new_case(session, org)
    session.commit()
    c = web("disp")
    r = _act(c, case.id, "dispatch", unit_code="SW", due_date="2025-10-17")
    assert r.status_code == 303
    [done] = _cases(session)
    assert done.unit_code == "SW"
    assert done.due_at.isoformat() == "2025-10-17T15:59:59+00:00"  # 23:59:59 Shanghai
    other = new_case(session, org)
    session.commit()
    r = _act(c, other.id, "dispatch", unit_code="SW", due_date="17/10/2025")
    assert r.status_code == 422 and "不是有效日期" in r.text and 'value="17/10/2025"' in r.text


def test_odd_input_is_a_message_not_a_crash(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    c = web("h_zj")
    token = csrf_of(c.get(f"/cases/{case.id}").text)
    for data in (
        {"days": "abc", "reason": "x"},
        {"days": "0", "reason": "x"},
        {"days": "3", "reason": "x", "version": "v2"},
        {"days": "99999999999", "reason": "x"},
        {"days": "3", "reason": "x" * 3000},
    ):
        r = c.post(f"/cases/{case.id}/act/request_extension", data={"csrf_token": token, **data})
        assert r.status_code == 422, (data, r.status_code)
        assert 'data-testid="error"' in r.text
    r = c.post(f"/cases/{case.id}/act/fly", data={"csrf_token": token})
    assert r.status_code == 404 and "没有动作" in r.text
    r = c.post("/report/new", data={"csrf_token": token, "title": "x"})
    assert r.status_code == 403  # a handler may not file
    assert c.get("/cases?page=abc&state=nonsense").status_code == 200
    assert _cases(session)[0].version == case.version
