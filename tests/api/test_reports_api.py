"""Reports over HTTP: POST /api/v1/reports, the list, one report, the downloads; and
/reports/metrics still reaching the metrics route."""

import subprocess
from io import BytesIO

import pytest
from openpyxl import load_workbook

from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.reports import making
from closeloop.reports import service as reports
from tests.reports.seed import MONTH_END, seed

PROBLEM = "application/problem+json"
KINDS = {"html", "pdf", "xlsx", "bulletin_html", "bulletin_pdf"}


@pytest.fixture
def seeded(engine, org, clock):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        data = seed(s, org)
        s.commit()
    clock.at = MONTH_END
    return data


def test_post_lists_reads_and_downloads(client, auth, seeded, tmp_path):
    r = client.post(
        "/api/v1/reports", headers=auth("sup"), json={"cadence": "monthly", "period": "2025-09"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert body["cadence"] == "monthly" and body["period"] == "2025-09"
    assert body["region_code"] == "D1" and body["bulletin_number"] == "罗应急通〔2025〕1号"
    assert body["files"] == {
        "html": f"/api/v1/reports/{rid}.html",
        "pdf": f"/api/v1/reports/{rid}.pdf",
        "xlsx": f"/api/v1/reports/{rid}.xlsx",
        "bulletin_html": f"/api/v1/reports/{rid}/bulletin.html",
        "bulletin_pdf": f"/api/v1/reports/{rid}/bulletin.pdf",
    }
    assert body["summary"]["total"]["closure_rate"] == 0.5714

    html = client.get(body["files"]["html"], headers=auth("sup"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "57.14%" in html.text and "罗湖区 2025年9月" in html.text
    pdf = client.get(body["files"]["pdf"], headers=auth("disp"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "57.14%" in text
    xlsx = client.get(body["files"]["xlsx"], headers=auth("sup"))
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    wb = load_workbook(BytesIO(xlsx.content))
    assert wb["概览"]["B2"].value == 8
    bulletin = client.get(body["files"]["bulletin_html"], headers=auth("sup"))
    assert bulletin.status_code == 200 and "罗应急通〔2025〕1号" in bulletin.text
    bpdf = client.get(body["files"]["bulletin_pdf"], headers=auth("sup"))
    assert bpdf.status_code == 200 and bpdf.content.startswith(b"%PDF")

    one = client.get(f"/api/v1/reports/{rid}", headers=auth("sup"))
    assert one.status_code == 200 and one.json() == body
    weekly = client.post(
        "/api/v1/reports", headers=auth("sup_s2"), json={"cadence": "weekly", "period": "2025-W36"}
    )
    assert weekly.status_code == 201 and weekly.json()["region_code"] == "S2"
    listed = client.get("/api/v1/reports", headers=auth("sup")).json()
    assert [x["id"] for x in listed] == [weekly.json()["id"], rid]
    only = client.get("/api/v1/reports?cadence=monthly", headers=auth("sup")).json()
    assert [x["id"] for x in only] == [rid]
    # sup_s2 sees only reports of S2.
    assert [x["id"] for x in client.get("/api/v1/reports", headers=auth("sup_s2")).json()] == [
        weekly.json()["id"]
    ]
    denied = client.get(f"/api/v1/reports/{rid}.pdf", headers=auth("sup_s2"))
    assert denied.status_code == 403 and denied.headers["content-type"] == PROBLEM


def test_metrics_route_is_not_captured(client, auth, seeded):
    r = client.get("/api/v1/reports/metrics?from=2025-09-01&to=2025-09-30", headers=auth("sup"))
    assert r.status_code == 200, r.text
    assert "total" in r.json()


@pytest.mark.parametrize(
    ("who", "body", "status", "words"),
    [
        ("sup", {"cadence": "monthly", "period": "2025-13"}, 422, "expected the form 2025-09"),
        ("sup", {"cadence": "daily", "period": "2025-09"}, 422, "quarterly or yearly"),
        ("sup", {"cadence": "weekly"}, 422, "period"),
        ("sup", {"cadence": "weekly", "period": "2025-W40", "x": 1}, 422, "x"),
        ("sup", {"cadence": "weekly", "period": "2025-W40", "region_code": "ZZ"}, 422, "ZZ"),
        ("sup_s2", {"cadence": "weekly", "period": "2025-W40", "region_code": "D1"}, 403, "D1"),
        ("rep1", {"cadence": "weekly", "period": "2025-W40"}, 403, "supervisor"),
        ("h_zj", {"cadence": "weekly", "period": "2025-W40"}, 403, "supervisor"),
    ],
)
def test_bad_requests_are_problems(client, auth, org, who, body, status, words):
    r = client.post("/api/v1/reports", headers=auth(who), json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM and words in r.text


def test_unknown_and_unauthenticated(client, auth, org):
    assert client.get("/api/v1/reports").status_code == 401
    assert client.get("/api/v1/reports/5", headers=auth("sup")).status_code == 404
    assert client.get("/api/v1/reports/5.pdf", headers=auth("sup")).status_code == 404
    assert client.get("/api/v1/reports/5/bulletin.pdf", headers=auth("sup")).status_code == 404
    assert client.get("/api/v1/reports/99999999999", headers=auth("sup")).status_code in (404, 422)
    assert client.get("/api/v1/reports/abc", headers=auth("sup")).status_code == 404
    assert client.get("/api/v1/reports", headers=auth("rep1")).status_code == 403


def test_status_and_progress_in_the_json_and_no_download_before_ready(
    client, auth, org, seeded, engine
):
    made = client.post(
        "/api/v1/reports", headers=auth("sup"), json={"cadence": "monthly", "period": "2025-09"}
    ).json()
    assert (made["status"], made["progress"], made["error"]) == ("ready", None, None)
    with transaction(engine) as s:
        started = reports.start(
            s, actor=org["sup"], cadence="weekly", period="2025-W39", now=MONTH_END
        )
    rid = started.id
    one = client.get(f"/api/v1/reports/{rid}", headers=auth("sup"))
    assert one.status_code == 200, one.text  # not a 404: it is being generated
    body = one.json()
    assert (body["status"], body["progress"], body["files"]) == ("generating", "metrics", {})
    assert client.get(f"/api/v1/reports/{rid}", headers=auth("disp")).status_code == 200
    assert client.get(f"/api/v1/reports/{rid}", headers=auth("sup_s2")).status_code == 403
    for suffix in (".pdf", ".xlsx", "/bulletin.pdf"):
        refused = client.get(f"/api/v1/reports/{rid}{suffix}", headers=auth("sup"))
        assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
        assert "正在生成" in refused.json()["detail"]
    # The API's list keeps offering ready reports only.
    assert [x["id"] for x in client.get("/api/v1/reports", headers=auth("sup")).json()] == [
        made["id"]
    ]
    with transaction(engine) as s:
        error = "生成失败 / generation failed: OSError: disk full"
        making.fail(s, report_id=rid, error=error, settings=get_settings())
    failed = client.get(f"/api/v1/reports/{rid}", headers=auth("sup")).json()
    assert failed["status"] == "failed" and "disk full" in failed["error"]
    refused = client.get(f"/api/v1/reports/{rid}.pdf", headers=auth("sup"))
    assert refused.status_code == 409 and "生成失败" in refused.json()["detail"]
