"""GET /api/v1/cases reads its query itself, in its one thread hop after the sign-in
(api/case_query.parse): for every parameter, good and refused, alone and together, repeated
and unknown, it answers exactly what the route declared for FastAPI (list_cases_declared:
FastAPI's reading of the same parameters, the sign-in in a hop before them) answers — status,
content type and bytes — and a refused sign-in still comes before a refused parameter."""

import pytest

from api.routes.cases import list_cases_declared
from closeloop.db import new_session
from models.case import CasePage
from tests.cases.test_reads import _every_situation

LONG = "x" * 41
QUERIES = [
    "",
    "state=rectifying",
    "state=verifying&state=suspended",
    "state=bogus",
    "state=",
    "state=rectifying&state=bogus",
    "kind=event",
    "kind=",
    "kind=letter",
    "kind=event&kind=hazard",
    "unit_code=ZJ",
    "unit_code=SW",
    "unit_code=NOPE",
    f"unit_code={LONG}",
    "unit_code=",
    "region_code=S1",
    "region_code=NOPE",
    "street_code=S1",
    "street_code=C1",
    "community_code=C1",
    "grid_code=G1",
    "category_code=01",
    "category_code=0101",
    "category_code=ZZ",
    "grade=major",
    "grade=bad",
    "listed=true",
    "listed=yes",
    "listed=maybe",
    "urgent=false",
    "overdue=true",
    "overdue=1",
    "q=测试",
    "q=" + "x" * 101,
    "reported_from=2025-09-01&reported_to=2025-09-30",
    "reported_from=2025-09-30&reported_to=2025-09-01",
    "reported_from=2025-13-01",
    "due_from=2025-09-01&due_to=2026-01-01",
    "closed_from=2025-01-01&closed_to=2025-12-31",
    "sort=-due_at",
    "sort=closed_at",
    "sort=bogus",
    "sort=" + "x" * 21,
    "enterprise_code=E1",
    "page=2&page_size=3",
    "page=99&page_size=3",
    "page=0",
    "page_size=501",
    "page=abc",
    "page_size=",
    "page=1&page=2&page_size=2",
    "unknown=1&state=closed",
    "page=0&state=bogus&kind=x&listed=maybe",
]


@pytest.mark.parametrize("username", ["sup", "h_zj"])
def test_the_list_reads_its_query_as_fastapi_does(engine, client, auth, org, username):
    with new_session(engine) as s:
        _every_situation(s, org)
    app = client.app
    app.add_api_route("/declared/cases", list_cases_declared, response_model=CasePage)
    app.router.routes.insert(0, app.router.routes.pop())  # before the web pages' routes
    headers = auth(username)
    answered = set()
    for query in QUERIES:
        got = client.get(f"/api/v1/cases?{query}", headers=headers)
        want = client.get(f"/declared/cases?{query}", headers=headers)
        assert got.status_code == want.status_code, (query, got.text, want.text)
        assert got.headers["content-type"] == want.headers["content-type"], query
        assert _unnumbered(got) == _unnumbered(want), query
        answered.add(got.status_code)
    assert answered == {200, 422}  # both kinds (not vacuous)
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        for query in ("", "page=0&state=bogus"):
            got = client.get(f"/api/v1/cases?{query}", headers=headers)
            want = client.get(f"/declared/cases?{query}", headers=headers)
            assert got.status_code == want.status_code == 401, query
            assert _unnumbered(got) == _unnumbered(want)


def _unnumbered(response) -> bytes:  # type: ignore[no-untyped-def]
    """The body, a problem's own request id (one per request) blanked."""
    if response.status_code == 200:
        return response.content
    request_id = response.json()["request_id"]
    assert response.content.count(request_id.encode()) == 1
    return response.content.replace(request_id.encode(), b"-")
