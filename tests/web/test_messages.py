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
