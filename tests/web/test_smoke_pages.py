"""`/` sends each role to its main page, and each main page shows that role's work."""

import re

from tests.factories import case_in, new_case


def test_each_role_lands_on_its_main_page_with_its_data(web, session, org):
    reported = new_case(session, org)
    dispatched = case_in(session, org, "dispatched")
    verifying = case_in(session, org, "verifying")
    session.commit()
    expect = {
        "rep1": ("/my", [reported.number, dispatched.number, "待您核查"]),
        "disp": ("/queue", [reported.number, verifying.number]),
        "h_zj": ("/inbox", [dispatched.number, verifying.number]),
        "sup": ("/dashboard", ['data-testid="fig-closure-rate"']),
        "admin": ("/cases", [reported.number, verifying.number]),
    }
    for user, (path, needles) in expect.items():
        c = web(user)
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == path
        page = c.get(path)
        assert page.status_code == 200, page.text
        for needle in needles:
            assert needle in page.text, (user, needle)
    # Nothing of another unit's work in a handler's inbox.
    assert dispatched.number not in web("h_sw").get("/inbox").text


def test_pages_at_phone_width_have_a_viewport_and_labels(web, org):
    page = web("rep1").get("/report/new").text
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', page)
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    visible = [i for i in ids if i not in ("lat", "lon")]
    assert visible and set(visible) <= labelled
