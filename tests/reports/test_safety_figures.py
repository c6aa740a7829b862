"""The safety-production figures of the metrics and the reports: Guangming's 84,262 risk reports
with 83,991 reviewed (审核率 99.68%) and Luohu's risk points 0 / 8 / 2,876 / 39,404 by level, in
the metrics API, the report HTML and PDF, the XLSX and the 通报; inspections and the hazards
they found; all as of the report time."""

import io
import subprocess
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from closeloop.db import new_session
from closeloop.reports.metrics import service as metrics
from models.enums import RiskLevel, RiskReportState
from tests.reports import safety_seed as seed

Q2 = {"date_from": date(2025, 4, 1), "date_to": date(2025, 6, 30)}
END = datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # the quarter's end: 2025-07-01 00:00 Shanghai
NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # the clock fixture's now
LEVELS = {RiskLevel.significant: 8, RiskLevel.general: 2_876, RiskLevel.low: 39_401}


def _day(month: int, day: int) -> datetime:
    return datetime(2025, month, day, 1, 0, tzinfo=UTC)


@pytest.fixture
def guangming(engine, org):  # type: ignore[no-untyped-def]
    """84,262 risk reports filed in 2025-Q2, 83,991 of them reviewed by the quarter's end; the
    risk register 0 / 8 / 2,876 / 39,404 at that moment; and rows on either side of the edges."""
    hour, reviewed = timedelta(hours=1), RiskReportState.approved
    with new_session(engine) as s:
        seed.enterprises(s)
        # S1: 83,000 approved within an hour, and 71 approved only after the quarter's end.
        seed.risk_reports(
            s, 83_000, first=_day(4, 1), spread=timedelta(seconds=90), state=reviewed,
            reviewed_after=hour, prefix="A",
        )  # fmt: skip
        seed.risk_reports(
            s, 71, first=_day(6, 20), spread=hour, state=reviewed,
            reviewed_after=timedelta(days=30), prefix="D",
        )  # fmt: skip
        # S2: 991 imported as rejected without a review time, 200 still pending.
        seed.risk_reports(
            s, 991, first=_day(5, 1), spread=hour, state=RiskReportState.rejected,
            enterprise="E3", prefix="B",
        )  # fmt: skip
        seed.risk_reports(
            s, 200, first=_day(6, 1), spread=hour, state=RiskReportState.pending,
            enterprise="E3", prefix="C",
        )  # fmt: skip
        # Outside the quarter: filed in March and in July.
        seed.risk_reports(s, 5, first=_day(3, 2), spread=hour, state=reviewed, prefix="M",
                          reviewed_after=hour)  # fmt: skip
        seed.risk_reports(s, 10, first=_day(7, 2), spread=hour, state=reviewed, prefix="J",
                          reviewed_after=hour)  # fmt: skip
        seed.risk_points(s, LEVELS)
        # Three low points of unit SW in S2, deactivated after the quarter: active at its end.
        seed.risk_points(
            s, {RiskLevel.low: 3}, enterprise="E3", prefix="X", active=False,
            updated_at=_day(7, 5), unit_code="SW",
        )  # fmt: skip
        # Not counted: deactivated in May, and registered in July.
        seed.risk_points(s, {RiskLevel.major: 5}, prefix="O", active=False, updated_at=_day(5, 3))
        seed.risk_points(s, {RiskLevel.major: 4}, prefix="N", created_at=_day(7, 3))
        s.commit()
    return org


# The metrics and the documents read one seeded district (126,000 rows, 8-12 s to seed a
# database): one test, in two parts, the read-only metrics first.
def test_review_rate_and_risk_points_in_the_metrics_and_the_documents(
    engine, guangming, client, auth
):  # type: ignore[no-untyped-def]
    in_the_metrics(engine, guangming, client, auth)
    in_the_documents(guangming, client, auth)


def in_the_metrics(engine, guangming, client, auth):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        total = metrics.compute(s, actor=guangming["sup"], now=NOW, as_of=END, **Q2).total
        streets = metrics.compute(
            s, actor=guangming["sup"], now=NOW, as_of=END, group_by="street", **Q2
        ).groups
        units = metrics.compute(
            s, actor=guangming["admin"], now=NOW, as_of=END, group_by="unit", **Q2
        ).groups
        grids = metrics.compute(
            s, actor=guangming["sup"], now=NOW, as_of=END, group_by="grid", **Q2
        ).groups
        kinds = metrics.compute(
            s, actor=guangming["sup"], now=NOW, as_of=END, group_by="kind", **Q2
        )
        handler = metrics.compute(s, actor=guangming["h_sw"], now=NOW, as_of=END, **Q2).total
    assert (total.risk_reports, total.risk_reviewed, total.review_rate) == (84_262, 83_991, 0.9968)
    assert total.risk_points.model_dump() == {
        "major": 0,
        "significant": 8,
        "general": 2_876,
        "low": 39_404,
    }
    assert total.score is None  # the safety side is not part of the score
    by_street = {g.key: g for g in streets}
    assert (by_street["S1"].risk_reports, by_street["S1"].risk_reviewed) == (83_071, 83_000)
    assert (by_street["S2"].risk_reports, by_street["S2"].risk_reviewed) == (1_191, 991)
    assert by_street["S2"].review_rate == 0.8321
    assert by_street["S2"].risk_points.low == 3
    by_grid = {g.key: g for g in grids}
    assert by_grid["G1"].risk_reports == 83_071 and by_grid["G2"].risk_reports == 0
    assert by_grid["G3"].risk_points.low == 3
    # By unit: the risk points of the unit responsible, nothing else.
    by_unit = {g.key: g for g in units}
    assert by_unit["ZJ"].risk_points.low == 39_401 and by_unit["SW"].risk_points.low == 3
    assert by_unit["ZJ"].risk_reports == 0
    assert kinds.total.risk_reports == 84_262
    assert all(g.risk_reports == 0 for g in kinds.groups)
    # A unit's staff see their unit's points and the reports about them (none here).
    assert handler.risk_points.low == 3 and handler.risk_points.general == 0
    assert handler.risk_reports == 0

    r = client.get(
        "/api/v1/reports/metrics",
        headers=auth("sup"),
        params={"from": "2025-04-01", "to": "2025-06-30", "as_of": "2025-07-01T00:00:00+08:00"},
    )
    assert r.status_code == 200, r.text
    body = r.json()["total"]
    assert (body["risk_reports"], body["risk_reviewed"], body["review_rate"]) == (
        84_262,
        83_991,
        0.9968,
    )
    assert body["risk_points"] == {"major": 0, "significant": 8, "general": 2876, "low": 39404}

    # Later, as of now: the 71 late reviews count, the July points are in, the three
    # deactivated ones are out; the quarter's figures above stay what they were.
    with new_session(engine) as s:
        later = metrics.compute(s, actor=guangming["sup"], now=NOW, **Q2).total
    assert (later.risk_reports, later.risk_reviewed) == (84_262, 84_062)
    assert later.risk_points.major == 4 and later.risk_points.low == 39_401


def in_the_documents(guangming, client, auth):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/reports", json={"cadence": "quarterly", "period": "2025-Q2"}, headers=auth("sup")
    )
    assert r.status_code == 201, r.text
    files = r.json()["files"]

    html = client.get(files["html"], headers=auth("sup")).text
    assert "九、安全生产" in html
    assert "本期风险信息上报 84,262 条，截至统计时点已审核 83,991 条，审核率 99.68%" in html
    assert "其中重大风险 0 个、较大风险 8 个、一般风险 2,876 个、低风险 39,404 个" in html
    assert "在册风险点位 42,288 个" in html

    pdf = client.get(files["pdf"], headers=auth("sup")).content
    flat = "".join(_pdf_text(pdf).split())
    assert "审核率99.68%" in flat and "低风险39,404个" in flat

    book = openpyxl.load_workbook(
        io.BytesIO(client.get(files["xlsx"], headers=auth("sup")).content)
    )
    sheet = book["安全生产"]
    figures = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True)}
    assert figures["风险信息上报"] == 84_262 and figures["已审核"] == 83_991
    assert figures["审核率"] == 0.9968
    assert sheet.cell(row=list(figures).index("审核率") + 2, column=2).number_format == "0.00%"
    assert (figures["重大风险"], figures["较大风险"], figures["一般风险"], figures["低风险"]) == (
        0,
        8,
        2_876,
        39_404,
    )
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True) if row[0]}
    assert rows["东门街道"][2:] == (0, 0, 0, 8, 2_876, 39_401, 83_071, 83_000, 0.9991)
    assert rows["合计"][2:] == (0, 0, 0, 8, 2_876, 39_404, 84_262, 83_991, 0.9968)

    bulletin = client.get(files["bulletin_html"], headers=auth("sup")).text
    assert "本期风险信息上报84,262条，已审核83,991条，审核率99.68%" in bulletin


def test_inspections_and_hazards_found(engine, org, client, auth):  # type: ignore[no-untyped-def]
    inspector = org["sup"].id
    assert inspector is not None
    with new_session(engine) as s:
        seed.enterprises(s)
        for enterprise, at, results in (
            ("E1", _day(4, 3), ["pass", "fail", "fail", "na"]),
            ("E2", _day(5, 3), ["pass", "pass"]),
            ("E3", _day(6, 29), ["fail"]),
            ("E3", _day(3, 30), ["fail", "fail"]),  # the quarter before
            ("E1", _day(7, 1), ["fail"]),  # after the quarter
        ):
            seed.inspection(
                s, enterprise=enterprise, at=at, inspector_id=inspector, results=results
            )
        s.commit()
        total = metrics.compute(s, actor=org["sup"], now=NOW, as_of=END, **Q2).total
        streets = metrics.compute(
            s, actor=org["sup"], now=NOW, as_of=END, group_by="street", **Q2
        ).groups
        communities = metrics.compute(
            s, actor=org["sup"], now=NOW, as_of=END, group_by="community", **Q2
        ).groups
        grids = metrics.compute(s, actor=org["sup"], now=NOW, as_of=END, group_by="grid", **Q2)
        s2 = metrics.compute(s, actor=org["sup_s2"], now=NOW, as_of=END, **Q2).total
        handler = metrics.compute(s, actor=org["h_zj"], now=NOW, as_of=END, **Q2).total
        # As of a moment inside the quarter: only the inspections held by then.
        may = metrics.compute(s, actor=org["sup"], now=NOW, as_of=_day(5, 31), **Q2).total
    assert (total.inspections, total.hazards_found) == (3, 3)
    assert total.review_rate is None and total.risk_reports == 0
    assert {g.key: (g.inspections, g.hazards_found) for g in streets} == {
        "S1": (2, 2),
        "S2": (1, 1),
    }
    assert {g.key: g.inspections for g in communities} == {"C1": 2, "C2": 1}
    assert {g.key: g.hazards_found for g in grids.groups} == {"G1": 2, "G2": 0, "G3": 1}
    assert (s2.inspections, s2.hazards_found) == (1, 1)  # a street supervisor: their street
    assert handler.inspections == 0
    assert (may.inspections, may.hazards_found) == (2, 2)

    r = client.post(
        "/api/v1/reports", json={"cadence": "quarterly", "period": "2025-Q2"}, headers=auth("sup")
    )
    assert r.status_code == 201, r.text
    html = client.get(r.json()["files"]["html"], headers=auth("sup")).text
    assert "共开展安全生产检查 3 次，检查发现隐患 3 项" in html
    # No risk report: the rate has no denominator and shows as a dash, not 0% or 100%.
    assert "本期风险信息上报 0 条，截至统计时点已审核 0 条，审核率 —" in html


def test_a_district_without_the_safety_side_has_no_section(org, client, auth):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/reports", json={"cadence": "quarterly", "period": "2025-Q2"}, headers=auth("sup")
    )
    assert r.status_code == 201, r.text
    files = r.json()["files"]
    assert "安全生产" not in client.get(files["html"], headers=auth("sup")).text
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(files["xlsx"], headers=auth("sup")).content), read_only=True
    )
    assert "安全生产" not in book.sheetnames
    assert "安全生产方面" not in client.get(files["bulletin_html"], headers=auth("sup")).text


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()
