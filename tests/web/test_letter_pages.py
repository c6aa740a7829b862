"""Letter pages (issue 10, points 1, 3, 4): the case page's letter form previews before it issues,
a supervisor withdraws (作废) a letter from the list or the case page, withdrawn letters are
marked, and a letter case's page offers no return."""

import html as htmllib

from tests.factories import case_in
from tests.web.conftest import csrf_of


def test_the_letter_form_previews_then_issues_on_confirm(web, session, org):
    case = case_in(session, org, "rectifying")
    session.commit()
    c = web("sup")
    page = c.get(f"/cases/{case.id}").text
    form = page.split('data-testid="form-letter"')[0].rsplit("<form", 1)[1]
    assert f'action="/cases/{case.id}/letter/preview"' in form
    token = csrf_of(page)
    data = {
        "csrf_token": token,
        "letter_type": "supervision",
        "reason": "多次催办未果",
        "reply_due_date": "",
    }
    r = c.post(f"/cases/{case.id}/letter/preview", data=data)
    assert r.status_code == 200, r.text
    srcdoc = htmllib.unescape(r.text.split('srcdoc="')[1].split('"')[0])
    assert "文号待定" in srcdoc and "预览" in srcdoc and "事由：多次催办未果" in srcdoc
    # Not yet due (dispatched today): the letter says so.
    assert "尚未到期" in srcdoc and "超期" not in srcdoc.split("<body>")[1].split("<table")[0]
    assert 'data-testid="action-letter-confirm"' in r.text and 'name="csrf_token"' in r.text
    assert "罗应急督" not in c.get("/letters").text  # nothing issued by the preview
    bad = c.post(f"/cases/{case.id}/letter/preview", data={**data, "reply_due_date": "2025-09-01"})
    assert bad.status_code == 422 and "反馈期限须晚于当前时间" in bad.text
    assert 'data-testid="form-letter"' in bad.text
    r = c.post(
        f"/cases/{case.id}/letter",
        data={**data, "csrf_token": csrf_of(r.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}?ok=letter"
    assert "罗应急督〔2025〕1号" in c.get("/letters").text


def test_a_supervisor_withdraws_a_letter_on_the_pages(web, session, org):
    from closeloop.letters import service as letters
    from models.enums import LetterType

    case = case_in(session, org, "rectifying")
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.supervision,
        unit_code="ZJ",
        case_ids=[case.id],
        now=org_now(),
        actor=org["sup"],
    )
    session.commit()
    handler = web("h_zj")
    listing = handler.get("/letters").text
    assert f'data-testid="form-withdraw-{letter.id}"' not in listing
    r = handler.post(
        f"/letters/{letter.id}/withdraw", data={"csrf_token": csrf_of(listing), "reason": "x"}
    )
    assert r.status_code == 403
    c = web("sup")
    listing = c.get("/letters").text
    assert f'data-testid="form-withdraw-{letter.id}"' in listing
    token = csrf_of(listing)
    r = c.post(
        f"/letters/{letter.id}/withdraw",
        data={"csrf_token": token, "reason": "", "next": "/letters"},
    )
    assert r.status_code == 422 and "作废函件须填写原因" in r.text
    r = c.post(
        f"/letters/{letter.id}/withdraw",
        data={"csrf_token": token, "reason": "主送单位有误", "next": "/letters"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/letters?ok=withdraw"
    listing = c.get("/letters").text
    row = listing.split(letter.number)[1].split("</tr>")[0]
    assert 'data-testid="letter-withdrawn"' in row and "主送单位有误" in row
    assert f'data-testid="form-withdraw-{letter.id}"' not in listing
    page = c.get(f"/cases/{case.id}").text
    mine = page.split('data-testid="case-letters"')[1].split("</ul>")[0]
    assert "作废" in mine and "主送单位有误" in mine
    assert 'data-action="letter_withdrawn"' in page
    again = c.post(
        f"/letters/{letter.id}/withdraw",
        data={"csrf_token": token, "reason": "再次", "next": "/letters"},
    )
    assert again.status_code == 409
    own = c.get(f"/cases/{letter.case_id}").text
    assert 'data-action="withdraw"' in own and 'data-testid="no-actions"' in own


def test_a_letter_case_page_offers_no_return(web, session, org):
    from closeloop.letters import service as letters
    from models.enums import LetterType

    case = case_in(session, org, "rectifying")
    letter = letters.issue_letter(
        session,
        letter_type=LetterType.warning,
        unit_code="ZJ",
        case_ids=[case.id],
        now=org_now(),
        actor=org["sup"],
    )
    session.commit()
    page = web("h_zj").get(f"/cases/{letter.case_id}").text
    assert 'data-testid="form-sign"' in page
    assert 'data-testid="form-return"' not in page
    desk = web("sup").get(f"/cases/{letter.case_id}").text
    for action in ("cancel", "merge", "return", "withdraw"):
        assert f'data-testid="form-{action}"' not in desk


def org_now():
    from tests.factories import NOW

    return NOW
