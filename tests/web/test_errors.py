"""One error map (api/problems.py) for the API and the pages: problem+json on API routes, an
error page on page routes, the same status either way."""

from unittest import mock

from fastapi.testclient import TestClient

from closeloop.errors import NotFound
from closeloop.text import Msg
from models.case import Case
from tests.factories import new_case
from tests.web.conftest import csrf_of


def test_a_page_route_answers_its_errors_with_a_page(web, org):
    c = web("disp")
    r = c.get("/cases/0")  # refused by the route's own validation
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert 'data-testid="error"' in r.text and 'data-testid="whoami"' in r.text
    assert 'name="csrf_token" value=""' not in r.text  # the header's logout form still works
    r = c.get("/reports/1.doc")
    assert r.status_code == 404 and 'data-testid="error"' in r.text


def test_the_api_keeps_problem_json_for_the_same_errors(client, org):
    r = client.get("/api/v1/cases/0", headers={"Accept": "text/html"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/api/v1/nowhere", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_an_unknown_address_is_a_page_for_a_browser_and_a_problem_otherwise(client, org):
    r = client.get("/nowhere", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 404 and 'data-testid="error"' in r.text
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_on_a_page_is_a_page_and_keeps_nothing(web, session, org):
    case = new_case(session, org)
    session.commit()
    c = web("disp")
    token = csrf_of(c.get(f"/cases/{case.id}").text)
    quiet = TestClient(c.app, raise_server_exceptions=False, cookies=c.cookies)
    with mock.patch("closeloop.cases.service.perform", side_effect=RuntimeError("bug")):
        r = quiet.post(
            f"/cases/{case.id}/act/cancel",
            data={"csrf_token": token, "reason": "x", "version": str(case.version)},
        )
    assert r.status_code == 500 and 'data-testid="error"' in r.text
    with mock.patch("closeloop.cases.service.perform", side_effect=NotFound(Msg("没有", "none"))):
        r = c.post(f"/cases/{case.id}/act/cancel", data={"csrf_token": token})
    assert r.status_code == 404 and "没有" in r.text
    session.expire_all()
    assert session.get(Case, case.id).version == case.version
