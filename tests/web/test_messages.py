"""In-app messages on the pages: the unread badge, the list, opening one marks it read."""

import re

from tests.factories import act, new_case
from tests.web.conftest import csrf_of


def test_a_dispatch_notice_reaches_the_handler_and_is_read(web, session, org):
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    session.commit()
    c = web("h_zj")
    inbox = c.get("/inbox").text
    assert re.search(r'data-testid="unread-badge">1<', inbox)
    page = c.get("/messages").text
    assert 'data-testid="message-row" data-read="0"' in page and case.number in page
    form = re.search(r'<form method="post" action="(/messages/\d+/read)"', page).group(1)
    r = c.post(form, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}"
    after = c.get("/messages").text
    assert 'data-read="0"' not in after and 'data-testid="unread-badge"' not in after
    # Someone else's message is not there for them.
    other = web("h_sw")
    r = other.post(form, data={"csrf_token": csrf_of(other.get("/messages").text)})
    assert r.status_code == 404


def test_a_message_reads_in_the_readers_language(web, session, org, client, auth):
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    session.commit()
    c = web("h_zj")

    def subject_and_body(page: str) -> tuple[str, str]:
        row = re.search(r'data-testid="message-row".*?</li>', page, re.S).group(0)
        subject = re.search(r"<strong>(.*?)</strong>", row).group(1)
        body = re.search(r'<div class="pre">(.*?)</div>', row, re.S).group(1)
        return subject, body

    subject, body = subject_and_body(c.get("/messages").text)
    assert "新案件待签收" in subject and case.number in subject
    assert "new case" not in subject and "new case" not in body
    c.get("/lang?to=en&next=/messages")
    subject, body = subject_and_body(c.get("/messages").text)
    assert "new case to sign for" in subject and case.number in subject
    assert not re.search(r"[\u4e00-\u9fff]", subject)
    assert "deadline:" in body and "期限" not in body  # the case's own words stay as written
    # The API gives both languages together (as the channels send them) and each one apart.
    [item] = client.get("/api/v1/notifications", headers=auth("h_zj")).json()["items"]
    assert item["subject"] == f"{item['subject_zh']} / {item['subject_en']}"
    assert item["subject_en"] == subject and item["body"].startswith(item["body_zh"])


def test_a_notice_without_a_deadline_names_no_time_zone(web, session, org):
    case = new_case(session, org)
    act(session, org, case, "dispatch", "disp", unit_code="ZJ")
    act(session, org, case, "return", "h_zj", reason="不属于本单位职责")
    session.commit()
    c = web("disp")
    c.get("/lang?to=en&next=/messages")
    page = c.get("/messages").text
    assert "deadline: —" in page and "— (Asia/Shanghai)" not in page
