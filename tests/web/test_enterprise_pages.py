"""The register's pages: the list with its filters, registering (a refusal redrawn), the file with
its hazards, editing and deactivating, and filing a case for an enterprise."""

from sqlmodel import select

from closeloop.db import new_session
from models.case import Case
from tests.safety.test_enterprises import credit, wrong
from tests.web.conftest import csrf_of


def register(c, code: str, n: int, **kw: str):  # type: ignore[no-untyped-def]
    html = c.get("/enterprises").text
    data = {"csrf_token": csrf_of(html), "code": code, "name": f"企业{code}", "kind": "enterprise"}
    data.update(credit_code=credit(n), grid_code="G1", industry="工贸", risk_level="general")
    data.update(kw)
    return c.post("/enterprises", data=data, follow_redirects=False)


def test_register_search_and_file(web, engine) -> None:  # type: ignore[no-untyped-def]
    disp = web("disp")
    r = register(disp, "E1", 1, credit_code=wrong(credit(1)), name="湖贝五金")
    assert r.status_code == 422
    assert f"第 18 位应为 {credit(1)[17]}" in r.text and 'value="湖贝五金"' in r.text
    r = register(disp, "E1", 1, name="湖贝五金")
    assert r.status_code == 303 and r.headers["location"] == "/enterprises/E1?ok=created"
    r = register(disp, "P1", 0, name="东门町", kind="place", credit_code="", grid_code="G3")
    assert r.status_code == 303

    html = disp.get("/enterprises?q=五金").text
    assert 'data-code="E1"' in html and 'data-code="P1"' not in html
    html = disp.get("/enterprises?kind=place").text
    assert 'data-code="P1"' in html and 'data-code="E1"' not in html
    assert 'data-testid="nav-enterprises"' in html

    r = disp.post(
        "/report/new",
        data={
            "csrf_token": csrf_of(disp.get("/report/new?enterprise_code=E1").text),
            "kind": "hazard",
            "grade": "general",
            "category_code": "0201",
            "title": "消防通道堵塞",
            "enterprise_code": "E1",
            "form_token": "form-ent-1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with new_session(engine) as s:
        case = s.exec(select(Case).where(Case.enterprise_code == "E1")).one()
        assert case.grid_code == "G1"
    html = disp.get("/enterprises/E1").text
    assert "消防通道堵塞" in html and 'data-testid="enterprise-case"' in html
    assert "enterprise-edit-form" in html

    page = disp.get("/enterprises/E1").text
    r = disp.post(
        "/enterprises/E1/active",
        data={"csrf_token": csrf_of(page), "active": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'data-active="0"' in disp.get("/enterprises/E1").text


def test_edit_refusal_and_who_sees_what(web) -> None:  # type: ignore[no-untyped-def]
    disp = web("disp")
    assert register(disp, "E1", 1).status_code == 303
    page = disp.get("/enterprises/E1").text
    form = {"csrf_token": csrf_of(page), "name": "改名", "kind": "enterprise", "grid_code": "G1"}
    r = disp.post("/enterprises/E1", data={**form, "credit_code": wrong(credit(1))})
    assert r.status_code == 422 and "校验码" in r.text
    r = disp.post(
        "/enterprises/E1", data={**form, "credit_code": credit(1)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "改名" in disp.get("/enterprises/E1").text

    rep = web("rep1")
    html = rep.get("/enterprises/E1").text
    assert "改名" in html and "enterprise-edit-form" not in html and "enterprise-form" not in html
    assert web("rep3").get("/enterprises/E1").status_code == 403
    assert 'data-code="E1"' not in web("disp_s2").get("/enterprises").text
