"""The import page at the HTTP level: the template downloads, imports into an empty district and
the result shows the counts; a refused file changes nothing and says why; admins only."""

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select

from closeloop.db import new_session
from closeloop.org.workbook import service as workbook
from models.enums import Role
from models.org import Region
from models.user import User
from tests.factories import NOW, password_hash
from tests.web.conftest import csrf_of, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _admin(client, engine) -> TestClient:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        s.add(
            User(
                username="root",
                display_name="管理员",
                role=Role.admin,
                password_hash=password_hash(),
                created_at=NOW,
            )
        )
        s.commit()
    c = TestClient(client.app)
    assert login(c, "root").status_code == 303
    return c


def test_the_template_imports_into_an_empty_district(client, engine) -> None:
    c = _admin(client, engine)
    r = c.get("/admin/import/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    names = load_workbook(io.BytesIO(r.content)).sheetnames
    assert set(workbook.ORDER) <= set(names)
    assert 'filename="org-template.xlsx"' in r.headers["content-disposition"]
    token = csrf_of(c.get("/admin/import").text)
    r = c.post(
        "/admin/import", data={"csrf_token": token}, files={"file": ("org.xlsx", r.content, XLSX)}
    )
    assert r.status_code == 200, r.text
    created = dict(re.findall(r'data-testid="created-(\w+)">(\d+)<', r.text))
    assert int(created["regions"]) > 0 and int(created["units"]) > 0
    with new_session(engine) as s:
        assert len(s.exec(select(Region)).all()) == int(created["regions"])
    # The district exists now: the admin lands on the case list again.
    assert c.get("/", follow_redirects=False).headers["location"] == "/cases"


def test_a_refused_file_says_why_and_writes_nothing(client, engine) -> None:
    c = _admin(client, engine)
    token = csrf_of(c.get("/admin/import").text)
    r = c.post("/admin/import", data={"csrf_token": token})
    assert r.status_code == 422 and "请选择要导入的文件" in r.text
    r = c.post(
        "/admin/import",
        data={"csrf_token": token},
        files={"file": ("org.xlsx", b"not a workbook", XLSX)},
    )
    assert r.status_code == 422 and 'data-testid="error"' in r.text
    bad = "code,name,level,parent_code\nS1,东门街道,street,NOPE\n".encode()
    r = c.post(
        "/admin/import",
        data={"csrf_token": token},
        files={"file": ("regions.csv", bad, "text/csv")},
    )
    assert r.status_code == 422
    assert re.search(r'data-testid="rejected-row" data-sheet="regions" data-row="2"', r.text)
    assert (
        c.post("/admin/import", files={"file": ("regions.csv", bad, "text/csv")}).status_code == 403
    )
    with new_session(engine) as s:
        assert s.get(Region, "S1") is None


def test_a_file_over_the_import_limit_is_refused_on_the_page(client, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    c = _admin(client, engine)
    token = csrf_of(c.get("/admin/import").text)
    monkeypatch.setenv("CLOSELOOP_MAX_IMPORT_BYTES", "1000")
    from closeloop.config import get_settings

    get_settings.cache_clear()
    r = c.post(
        "/admin/import",
        data={"csrf_token": token},
        files={"file": ("org.xlsx", workbook_bytes(), XLSX)},
    )
    assert r.status_code == 413 and "文件超过 1000 字节上限" in r.text
    with new_session(engine) as s:
        assert s.exec(select(Region)).all() == []


def workbook_bytes() -> bytes:
    from closeloop.org.workbook.template import template_workbook

    data = template_workbook()
    assert len(data) > 1000
    return data


def test_only_an_admin_imports(web) -> None:
    c = web("sup")
    assert c.get("/admin/import").status_code == 403
    assert c.get("/admin/import/template.xlsx").status_code == 403
