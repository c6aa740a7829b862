"""The seeds' safety figures reproduced end to end from imported ledgers, through the HTTP API as
a bureau would bring them in: enterprises and places, Luohu's risk register (重大 0, 较大 8,
一般 2,876, 低 39,404) and Guangming's 84,262 risk reports with 83,991 reviewed (审核率 99.68%) —
then the quarterly report's HTML, XLSX and 通报 say exactly what the metrics API says."""

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl

from closeloop.clock import FixedClock
from tests.factories import PASSWORD

BEFORE = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)  # the register is imported before the quarter
AFTER = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # the report is made after it
LEVELS = {"major": 0, "significant": 8, "general": 2_876, "low": 39_404}


def _csv(lines: list[str]) -> dict[str, tuple[str, io.BytesIO, str]]:
    data = io.BytesIO(("\n".join(lines) + "\n").encode("utf-8-sig"))
    return {"file": ("ledger.csv", data, "text/csv")}


def _post_file(client, url: str, lines: list[str], headers) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(url, files=_csv(lines), headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rejected"] == [], body["rejected"][:3]
    return body


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    form = {"username": username, "password": PASSWORD}
    token = client.post("/api/v1/auth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_seed_figures_from_imported_ledgers(client, org, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    clock.at = BEFORE
    admin = _token(client, "admin")
    places = ["code,name,kind,grid_code,industry", "P1,湖贝市场,place,G1,人员密集场所"]
    places.append("P3,南湖仓库,place,G3,仓储物流")
    assert _post_file(client, "/api/v1/enterprises/import", places, admin)["imported"] == 2

    points = ["code,enterprise_code,name,level,measures,unit_code"]
    for level, k in LEVELS.items():
        points += [
            f"{level[:2]}{i:06d},P{1 if i % 2 else 3},点位,{level},巡查,ZJ" for i in range(k)
        ]
    assert _post_file(client, "/api/v1/risk-points/import", points, admin)["imported"] == 42_288

    clock.at = AFTER  # a ledger's reports and reviews lie in the past of its import
    admin = _token(client, "admin")
    reports = ["number,risk_point_code,enterprise_code,level,reported_at,reviewed_at,decision"]
    for i in range(84_262):
        day = date(2025, 4, 1) + timedelta(days=i % 85)  # 1 April – 24 June
        done = f"{day + timedelta(days=1)} 15:00" if i < 83_991 else ""
        decision = ("approve" if i % 40 else "reject") if done else ""
        reports.append(f"GM{i:07d},,P{1 if i % 3 else 3},low,{day} 09:00,{done},{decision}")
    assert _post_file(client, "/api/v1/risk-reports/import", reports, admin)["imported"] == 84_262

    sup = _token(client, "sup")
    q2 = {"from": "2025-04-01", "to": "2025-06-30"}
    m = client.get("/api/v1/reports/metrics", params=q2, headers=sup).json()["total"]
    assert (m["risk_reports"], m["risk_reviewed"], m["review_rate"]) == (84_262, 83_991, 0.9968)
    assert m["risk_points"] == LEVELS

    r = client.post(
        "/api/v1/reports", json={"cadence": "quarterly", "period": "2025-Q2"}, headers=sup
    )
    assert r.status_code == 201, r.text
    files = r.json()["files"]
    html = client.get(files["html"], headers=sup).text
    assert "本期风险信息上报 84,262 条，截至统计时点已审核 83,991 条，审核率 99.68%" in html
    assert "其中重大风险 0 个、较大风险 8 个、一般风险 2,876 个、低风险 39,404 个" in html
    book = openpyxl.load_workbook(io.BytesIO(client.get(files["xlsx"], headers=sup).content))
    sheet = book["安全生产"]
    figures = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True)}
    assert (figures["风险信息上报"], figures["已审核"], figures["审核率"]) == (
        84_262,
        83_991,
        0.9968,
    )
    assert [figures[k] for k in ("重大风险", "较大风险", "一般风险", "低风险")] == [
        0,
        8,
        2_876,
        39_404,
    ]
    bulletin = client.get(files["bulletin_html"], headers=sup).text
    assert "本期风险信息上报84,262条，已审核83,991条，审核率99.68%" in bulletin
