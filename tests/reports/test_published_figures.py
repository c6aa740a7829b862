"""Luohu 2024 (DESIGN.md): 31,263 events reported, 30,617 closed → 办结率 97.93%; 200 major
hazards found, 198 rectified → 0.99. Reproduced from an imported ledger through the real import,
the metrics API and the documents."""

import csv
import io
import subprocess
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from closeloop.db import new_session
from closeloop.imports import files
from closeloop.imports import service as imports
from closeloop.reports.metrics import service as metrics
from models.types import SHANGHAI

EVENTS, EVENTS_CLOSED = 31_263, 30_617
HAZARDS, HAZARDS_CLOSED = 200, 198
IMPORTED_AT = datetime(2025, 1, 10, 2, 0, tzinfo=UTC)
COLUMNS = list(files.COLUMNS)  # the ledger's columns, as the import reads them


def ledger() -> bytes:
    """The year's ledger: every event and hazard of 2024, spread over the year's days, with
    the open ones still rectifying."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    start = datetime(2024, 1, 1, 9, 0)

    def row(i: int, kind: str, n: int, closed: bool, grade: str) -> list[str]:
        reported = start + timedelta(minutes=(i * 16) % (360 * 24 * 60))
        dispatched = reported + timedelta(hours=1)
        done = dispatched + timedelta(days=2)
        prefix = "SJ" if kind == "event" else "YH"
        return [
            f"{prefix}2024{n:06d}",
            kind,
            "台账案件",
            "0101",
            "G1" if i % 2 else "G3",
            "ZJ",
            grade,
            "closed" if closed else "rectifying",
            reported.isoformat(),
            dispatched.isoformat(),
            "",
            done.isoformat() if closed else "",
        ]

    for n in range(1, EVENTS + 1):
        w.writerow(row(n, "event", n, n <= EVENTS_CLOSED, ""))
    for n in range(1, HAZARDS + 1):
        w.writerow(row(n * 7, "hazard", n, n <= HAZARDS_CLOSED, "major"))
    return out.getvalue().encode()


@pytest.fixture
def luohu_2024(engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        result = imports.import_file(
            s,
            actor=org["admin"],
            fileobj=io.BytesIO(ledger()),
            filename="luohu-2024.csv",
            now=IMPORTED_AT,
        )
        s.commit()
    assert result["imported"] == EVENTS + HAZARDS, result["rejected"][:3]
    return org


def test_luohu_2024_closure_rates_and_documents(engine, luohu_2024, client, auth):  # type: ignore[no-untyped-def]
    year = {"date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31), "now": IMPORTED_AT}
    with new_session(engine) as s:
        events = metrics.compute(s, actor=luohu_2024["sup"], kind="event", **year).total
        hazards = metrics.compute(s, actor=luohu_2024["sup"], kind="hazard", **year).total
    assert (events.reported, events.accepted, events.closed) == (EVENTS, EVENTS, EVENTS_CLOSED)
    assert events.closure_rate == 0.9793
    assert events.overdue_open == EVENTS - EVENTS_CLOSED  # all long past their deadlines
    assert (hazards.reported, hazards.closed, hazards.closure_rate) == (200, 198, 0.99)
    assert hazards.listed == 2  # the two open major hazards stay listed

    r = client.get(
        "/api/v1/reports/metrics",
        headers=auth("sup"),
        params={
            "from": "2024-01-01",
            "to": "2024-12-31",
            "kind": "event",
            "as_of": IMPORTED_AT.astimezone(SHANGHAI).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"]["closure_rate"] == 0.9793
    assert r.json()["total"]["closed"] == EVENTS_CLOSED

    # The same ledger in the documents (one test: the import is the slow part): the yearly report
    # of 2024 — HTML, PDF (text extracted), XLSX (numbers) and the 通报 — shows the published
    # 97.93% for events and 99.00% for major hazards.
    r = client.post(
        "/api/v1/reports", json={"cadence": "yearly", "period": "2024"}, headers=auth("sup")
    )
    assert r.status_code == 201, r.text
    files = r.json()["files"]

    html = client.get(files["html"], headers=auth("sup")).text
    assert "97.93%" in html and "99.00%" in html and "31,263" in html and "30,617" in html

    pdf = client.get(files["pdf"], headers=auth("sup")).content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    flat = "".join(text.decode().split())
    assert "97.93%" in flat and "99.00%" in flat and "2024年" in flat

    bulletin = client.get(files["bulletin_pdf"], headers=auth("sup")).content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=bulletin, capture_output=True, check=True
    ).stdout
    flat = "".join(text.decode().split())
    assert "网格事件上报31,263件，立案31,263件，办结30,617件，办结率97.93%" in flat

    xlsx = client.get(files["xlsx"], headers=auth("sup")).content
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    # Chinese only (issue 10): the sheet names each kind, without its English code.
    rows = {row[0]: row for row in book["按类型"].iter_rows(min_row=2, values_only=True)}
    assert 31_263 in rows["网格事件"] and 0.9793 in rows["网格事件"]
    assert 200 in rows["安全隐患"] and 0.99 in rows["安全隐患"]
