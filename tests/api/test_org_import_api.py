import io

from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import select

from closeloop.db import new_session
from models.org import Region
from models.user import User
from tests.factories import PASSWORD
from tests.org.test_workbook import GOOD, REGIONS, xlsx

PROBLEM = "application/problem+json"
URL = "/api/v1/org/import"


def headers(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def upload(client, data: bytes, filename: str = "org.xlsx", who: str = "admin", **form):  # type: ignore[no-untyped-def]
    return client.post(
        URL,
        headers=headers(client, who),
        files={"file": (filename, data, "application/octet-stream")},
        data=form,
    )


def regions_in(engine) -> int:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        return s.exec(select(func.count()).select_from(Region)).one()


def test_the_template_downloads_and_imports(client, org, engine):
    # The test organisation (tests.factories) is there already: its categories 01, 0101, 0102, 02 and
    # 0201 share the template's codes and are updated; the rest is new.
    r = client.get("/api/v1/org/template.xlsx", headers=headers(client, "admin"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "regions" in load_workbook(io.BytesIO(r.content)).sheetnames
    before = regions_in(engine)
    r = upload(client, r.content, "template.xlsx")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == {"regions": 7, "units": 3, "categories": 1, "users": 5}
    assert body["updated"] == {"regions": 0, "units": 0, "categories": 5, "users": 0}
    assert body["rejected"] == []
    assert regions_in(engine) == before + 7
    # A generated one-time password works once, and must then be changed.
    [otp] = [p["password"] for p in body["passwords"] if p["username"] == "wgy01"]
    login = client.post("/api/v1/auth/token", data={"username": "wgy01", "password": otp})
    assert login.status_code == 200, login.text
    with new_session(engine) as s:
        user = s.exec(select(User).where(User.username == "wgy01")).one()
        assert user.must_change_password


def test_rejected_rows_answer_200_with_every_row_and_write_nothing(client, org, engine):
    before = regions_in(engine)
    regions = [*REGIONS, ["G3", "网格三", "grid", "NOPE"], ["G4", "网格四", "street", "C"]]
    r = upload(client, xlsx({**GOOD, "regions": regions}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["sheet"], x["row"]) for x in body["rejected"]] == [("regions", 7), ("regions", 8)]
    assert body["created"] == {"regions": 0, "units": 0, "categories": 0, "users": 0}
    assert "passwords" not in body
    assert regions_in(engine) == before


def test_a_csv_for_the_sheet_named_in_the_form(client, org):
    data = "\ufeffcode,name,level\nZ9,另一区,district\n".encode()
    r = upload(client, data, "export.csv", sheet="regions")
    assert r.status_code == 200, r.text
    assert r.json()["created"]["regions"] == 1


def test_an_unreadable_file_is_a_422_problem_saying_what_is_expected(client, org, engine):
    r = upload(client, b"%PDF-1.4", "org.pdf")
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert ".xlsx" in r.json()["detail"] and ".csv" in r.json()["detail"]
    r = upload(client, xlsx({"units": [["code", "name"], ["U", "x"]]}))
    assert r.status_code == 422
    assert "short_name" in r.json()["detail"] and "units" in r.json()["detail"]
    r = upload(client, xlsx({"Sheet1": [["a"]]}))
    assert r.status_code == 422 and "regions, units, categories and users" in r.json()["detail"]


def test_only_an_admin_imports_or_downloads_the_template(client, org):
    assert upload(client, xlsx(GOOD), who="sup").status_code == 403
    r = client.get("/api/v1/org/template.xlsx", headers=headers(client, "disp"))
    assert r.status_code == 403
    assert client.get("/api/v1/org/template.xlsx").status_code == 401


def test_a_file_over_the_limit_is_refused(client, org, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_MAX_IMPORT_BYTES", "1000")
    from closeloop.config import get_settings

    get_settings.cache_clear()
    r = upload(client, xlsx(GOOD))
    assert r.status_code == 413
