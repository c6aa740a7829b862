import io

import pytest

from closeloop.db import new_session
from models.enums import EnterpriseKind
from tests.safety.factories import enterprise
from tests.web.conftest import csrf_of

LINES = "1 | 安全出口畅通 | GB 50016-2014 第 5.5.17 条\n2 | 员工培训 | 《安全生产法》第二十八条 | 0101\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def places(engine, org):
    with new_session(engine) as s:
        enterprise(s, "E1", name="湖贝五金厂")
        enterprise(s, "P1", kind=EnterpriseKind.place, industry="人员密集场所")
        s.commit()


def make_set(web) -> None:
    admin = web("admin")
    page = admin.get("/admin/checklists")
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page.text), "code": "GM", "name": "工贸检查表", "items": LINES}
    r = admin.post("/admin/checklists", data=form)
    assert r.status_code == 422 and "category_code" in r.text  # item 1 has no category
    assert "安全出口畅通" in r.text  # what was typed is kept
    r = admin.post("/admin/checklists", data={**form, "category_code": "0201"})
    assert r.status_code == 200 and 'data-code="GM"' in r.text


def test_admin_makes_a_set_and_a_dispatcher_records_an_inspection(web, places) -> None:
    make_set(web)
    disp = web("disp")
    form = disp.get("/inspections/new?enterprise_code=E1&checklist_code=GM")
    assert form.status_code == 200 and 'data-testid="inspection-form"' in form.text
    data = {
        "csrf_token": csrf_of(form.text),
        "enterprise_code": "E1",
        "checklist_code": "GM",
        "at": "2025-09-30T09:00",
        "unannounced": "1",
        "result_1": "fail",
        "note_1": "安全出口堆放杂物",
        "grade_1": "general",
        "result_2": "pass",
    }
    missing = disp.post("/inspections", data={**data, "result_2": ""})
    assert missing.status_code == 422 and "2" in missing.text
    r = disp.post(
        "/inspections", data=data, files={"photos_1": ("exit.png", io.BytesIO(PNG), "image/png")}
    )
    assert r.status_code == 200 and 'data-testid="recorded"' in r.text
    assert r.text.count('data-testid="hazard-link"') == 1
    listed = disp.get("/inspections?from=2025-09-01&to=2025-09-30")
    assert listed.text.count('data-testid="inspection-row"') == 1
    assert 'data-testid="inspection-figures"' in listed.text


def test_grid_worker_sees_only_places(web, places) -> None:
    make_set(web)
    page = web("rep1").get("/inspections/new")
    assert "P1" in page.text and 'value="E1"' not in page.text
    assert web("h_zj").get("/inspections").status_code == 403
