import io
from datetime import UTC, datetime

from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import select

from closeloop.db import new_session
from models.case import Case
from tests.factories import PASSWORD
from tests.imports.test_imports import BASE, COLUMNS, DISPATCHED, csv_bytes, row

PROBLEM = "application/problem+json"
URL = "/api/v1/cases/import"


def headers(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def upload(client, data: bytes, filename: str = "ledger.csv", who: str | None = "admin"):  # type: ignore[no-untyped-def]
    h = headers(client, who) if who else {}
    return client.post(URL, headers=h, files={"file": (filename, data, "application/octet-stream")})


def cases_in(engine) -> int:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        return s.exec(select(func.count()).select_from(Case)).one()


def test_import_reports_good_and_bad_rows(client, org, engine):
    rows = [row(number="A1"), row(number="A2", grid_code="G9"), row(number="A3", **DISPATCHED)]
    r = upload(client, csv_bytes(rows))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == 2 and body["rejected_count"] == 1
    assert body["rejected"] == [
        {"row": 3, "error": "网格 G9 不存在 / grid_code 'G9' is not a grid"}
    ]
    assert cases_in(engine) == 2


def test_imported_cases_carry_the_import_history_entry(client, org):
    assert upload(client, csv_bytes([row(number="H1", **DISPATCHED)])).status_code == 200
    h = headers(client, "admin")
    [case] = client.get("/api/v1/cases", headers=h, params={"q": "H1"}).json()["items"]
    assert (case["state"], case["unit_code"], case["version"]) == ("dispatched", "ZJ", 1)
    assert datetime.fromisoformat(case["due_at"]) == datetime(2025, 9, 9, 15, 59, 59, tzinfo=UTC)
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=h).json()
    assert len(history) == 1
    entry = history[0]
    assert (entry["seq"], entry["action"], entry["from_state"], entry["to_state"]) == (
        1,
        "import",
        None,
        "dispatched",
    )
    assert entry["actor"] == "admin 测试"
    assert entry["data"] == {"source": "ledger.csv", "row": 2}


def test_imported_cases_go_on_through_the_lifecycle(client, org):
    """POST /cases/import does not clash with POST /cases/{id}/… routes, in either direction."""
    assert upload(client, csv_bytes([row(number="L1")])).json()["imported"] == 1
    h = headers(client, "disp")
    [case] = client.get("/api/v1/cases", headers=h, params={"q": "L1"}).json()["items"]
    assert "dispatch" in case["allowed_actions"]
    r = client.post(f"/api/v1/cases/{case['id']}/actions/dispatch", headers=h, json={"version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "dispatched" and r.json()["version"] == 2
    assert client.get("/api/v1/cases/import", headers=h).status_code == 422  # not a case id


def test_xlsx_upload(client, org, engine):
    book = Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    sheet.append([BASE[c] or None for c in COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    r = upload(client, buffer.getvalue(), filename="ledger.xlsx")
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 1, "rejected": [], "rejected_count": 0}
    assert cases_in(engine) == 1


def test_missing_columns_are_422_problem_and_write_nothing(client, org, engine):
    columns = [c for c in COLUMNS if c != "reported_at"]
    r = upload(client, csv_bytes([row()], columns=columns))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == 422 and "reported_at" in r.json()["detail"]
    assert cases_in(engine) == 0


def test_a_file_failing_half_way_writes_nothing(client, org, engine):
    data = csv_bytes([row() for _ in range(1500)]) + b"\xff,x\n"
    r = upload(client, data)
    assert r.status_code == 422 and "row 1502 is not UTF-8" in r.json()["detail"]
    assert cases_in(engine) == 0  # the first 1,000 rows were inserted, then rolled back


def test_unknown_file_type_is_422(client, org):
    r = upload(client, b"hello", filename="ledger.pdf")
    assert r.status_code == 422 and ".csv or .xlsx" in r.json()["detail"]


def test_only_an_admin_may_import(client, org, engine):
    data = csv_bytes([row()])
    r = upload(client, data, who=None)
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)
    for who in ("disp", "sup", "rep1"):
        r = upload(client, data, who=who)
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    assert cases_in(engine) == 0


def test_a_missing_file_is_422(client, org):
    r = client.post(URL, headers=headers(client, "admin"))
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_ledger_over_the_size_limit_is_413(client, auth, monkeypatch):
    from closeloop.config import get_settings

    monkeypatch.setenv("CLOSELOOP_MAX_IMPORT_BYTES", "100")
    get_settings.cache_clear()
    body = (
        "kind,title,category_code,grid_code,state,reported_at\n"
        + "event,占道经营,0101,G1,reported,2025-09-01T09:00:00\n" * 5
    ).encode()
    r = client.post(
        "/api/v1/cases/import", headers=auth("admin"), files={"file": ("big.csv", body, "text/csv")}
    )
    assert r.status_code == 413 and "CLOSELOOP_MAX_IMPORT_BYTES" in r.json()["detail"]
    assert client.get("/api/v1/cases", headers=auth("admin")).json()["total"] == 0
