"""The admin marks a category as an emergency category (紧急类) on the pages: on creating it, on
its edit page, and sees the mark in the list."""

from closeloop.db import new_session
from models.org import Category
from tests.web.conftest import csrf_of


def _flag(c, code: str) -> bool:  # type: ignore[no-untyped-def]
    with new_session(c.app.state.engine) as s:
        row = s.get(Category, code)
        assert row is not None
        return row.emergency


def test_create_edit_and_list_an_emergency_category(web) -> None:  # type: ignore[no-untyped-def]
    c = web("admin")
    page = c.get("/admin/categories")
    token = csrf_of(page.text)
    assert 'data-testid="emergency"' in page.text
    base = {"csrf_token": token, "parent_code": "01", "unit_code": "ZJ", "limit_days": "3"}
    r = c.post(
        "/admin/categories", data={**base, "code": "0198", "name": "塌方", "emergency": "True"}
    )
    assert r.status_code == 200 and str(r.url).endswith("ok=created"), r.text
    r = c.post("/admin/categories", data={**base, "code": "0199", "name": "其他", "emergency": ""})
    assert r.status_code == 200 and str(r.url).endswith("ok=created"), r.text
    assert _flag(c, "0198") and not _flag(c, "0199")
    listed = c.get("/admin/categories").text
    assert listed.count('data-testid="category-emergency"') == 1

    edit = c.get("/admin/categories/0199")
    assert 'data-testid="e-emergency"' in edit.text
    assert '<option value="False" selected>' in edit.text
    values = {"name": "其他", "parent_code": "01", "unit_code": "ZJ", "limit_days": "3"}
    r = c.post(
        "/admin/categories/0199",
        data={"csrf_token": csrf_of(edit.text), **values, "sign_hours": "", "emergency": "True"},
    )
    assert r.status_code == 200 and str(r.url).endswith("ok=saved"), r.text
    assert _flag(c, "0199")
    assert '<option value="True" selected>' in c.get("/admin/categories/0199").text
