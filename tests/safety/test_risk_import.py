"""The risk register's ledgers: points and reports imported with bad rows reported, nothing
half-written; the seeds' figures reproduced from imported ledgers (Luohu's 42,336 graded points,
Guangming's 84,262 reports with 83,991 reviewed: 审核率 99.68%)."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import text as sql
from sqlmodel import Session, func, select

from closeloop.errors import Invalid
from closeloop.safety import risk_figures, risk_import
from models.risk import RiskPoint, RiskReport
from tests.factories import NOW, Org
from tests.safety.risk_factories import add_enterprise


@pytest.fixture
def ents(session: Session, org: Org) -> None:
    add_enterprise(session, "E1", "G1")
    add_enterprise(session, "E3", "G3")


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8-sig"))


def test_points_with_bad_rows(session: Session, org: Org, ents: None) -> None:
    text = (
        "code,enterprise_code,name,level,measures,unit_code\n"
        "P1,E1,配电房,general,每日巡查,ZJ\n"
        "P2,E9,仓库,low,,\n"
        "P1,E1,重复,low,,\n"
        "P3,E3,,extreme,,XX\n"
        "P4,E3,锅炉房,significant,,\n"
    )
    result = risk_import.import_points(
        session, actor=org["admin"], fileobj=csv_file(text), filename="p.csv", now=NOW
    )
    assert result["imported"] == 2
    assert [r["row"] for r in result["rejected"]] == [3, 4, 5]
    assert "E9" in result["rejected"][0]["error"]
    assert "already exists" in result["rejected"][1]["error"]
    assert all(w in result["rejected"][2]["error"] for w in ("name", "level", "unit_code"))
    p4 = session.get(RiskPoint, "P4")
    assert p4 is not None and (p4.street_code, p4.level) == ("S2", "significant")
    # A street's supervisor imports only within the street.
    result = risk_import.import_points(
        session,
        actor=org["sup_s2"],
        fileobj=csv_file("code,enterprise_code,name,level\nP5,E1,a,low\nP6,E3,b,low\n"),
        filename="p.csv",
        now=NOW,
    )
    assert result["imported"] == 1 and result["rejected"][0]["row"] == 2
    with pytest.raises(Invalid, match="level"):
        list(
            risk_import.import_points(
                session,
                actor=org["admin"],
                fileobj=csv_file("code,enterprise_code,name\n"),
                filename="p.csv",
                now=NOW,
            )["rejected"]
        )


def test_reports_with_bad_rows(session: Session, org: Org, ents: None) -> None:
    risk_import.import_points(
        session,
        actor=org["admin"],
        fileobj=csv_file("code,enterprise_code,name,level\nP1,E1,a,low\n"),
        filename="p.csv",
        now=NOW,
    )
    text = (
        "number,risk_point_code,enterprise_code,level,reported_at,reviewed_at,decision\n"
        "R1,P1,E1,low,2025-09-01 10:00,2025-09-02 10:00,approve\n"
        "R2,,E3,general,2025-09-01,,\n"
        "R1,,E3,general,2025-09-01,,\n"
        "R3,P1,E3,low,2025-09-01,,\n"
        "R4,,E1,low,2025-09-03,2025-09-02,approve\n"
        "R5,,E1,low,2025-09-03,2025-09-04,\n"
        "R6,,E1,low,2099-01-01,,\n"
        "R7,,E1,low,yesterday,,\n"
    )
    result = risk_import.import_reports(
        session, actor=org["admin"], fileobj=csv_file(text), filename="r.csv", now=NOW
    )
    assert result["imported"] == 2
    assert [r["row"] for r in result["rejected"]] == [4, 5, 6, 7, 8, 9]
    r2 = session.exec(select(RiskReport).where(RiskReport.number == "R2")).one()
    assert (r2.state, r2.reported_by, r2.street_code) == ("pending", None, "S2")
    assert r2.review_due_at > r2.reported_at
    again = risk_import.import_reports(
        session, actor=org["admin"], fileobj=csv_file(text), filename="r.csv", now=NOW
    )
    assert again["imported"] == 0 and "exists" in again["rejected"][0]["error"]


def test_luohu_levels_from_an_imported_register(session: Session, org: Org, ents: None) -> None:
    """Luohu's report gives 42,336 graded points and the levels 0 / 8 / 2,876 / 39,404, which add
    up to 42,288: the levels are what is reproduced (the 48 apart are noted in the README)."""
    counts = {"major": 0, "significant": 8, "general": 2876, "low": 39404}
    lines = ["code,enterprise_code,name,level,measures,unit_code"]
    n = 0
    for level, k in counts.items():
        for _ in range(k):
            n += 1
            lines.append(f"LH{n:06d},{'E1' if n % 2 else 'E3'},点位{n},{level},,")
    result = risk_import.import_points(
        session,
        actor=org["admin"],
        fileobj=csv_file("\n".join(lines) + "\n"),
        filename="luohu.csv",
        now=NOW,
    )
    assert result == {"imported": 42288, "rejected": [], "rejected_count": 0}
    figures = risk_figures.points_by_level(session, actor=org["sup"], group_by="street")
    assert figures["total"] == 42288 and figures["levels"] == counts
    by_street = {s["street_code"]: s for s in figures["streets"]}
    assert by_street["S1"]["total"] + by_street["S2"]["total"] == 42288
    assert by_street["S1"]["levels"]["significant"] == 4


def test_guangming_review_rate_from_an_imported_ledger(
    session: Session, org: Org, ents: None
) -> None:
    lines = ["number,risk_point_code,enterprise_code,level,reported_at,reviewed_at,decision"]
    start = date(2025, 1, 1)
    for i in range(84262):
        day = start + timedelta(days=i % 240)
        reviewed = f"{day + timedelta(days=1)} 15:00" if i < 83991 else ""
        decision = ("approve" if i % 50 else "reject") if reviewed else ""
        lines.append(f"GM{i:07d},,E{1 if i % 3 else 3},low,{day} 09:00,{reviewed},{decision}")
    data = csv_file("\n".join(lines) + "\n")
    result = risk_import.import_reports(
        session, actor=org["admin"], fileobj=data, filename="guangming.csv", now=NOW
    )
    assert result["imported"] == 84262 and result["rejected_count"] == 0  # speed: bench/
    assert session.exec(select(func.count()).select_from(RiskReport)).one() == 84262
    figures = risk_figures.report_figures(
        session, actor=org["sup"], date_from=date(2025, 1, 1), date_to=date(2025, 12, 31), now=NOW
    )
    assert (figures["reports"], figures["reviewed"]) == (84262, 83991)
    assert figures["review_rate"] == 0.9968
    assert figures["pending"] == 271 and figures["pending_overdue"] == 271


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_imported_ledgers_leave_the_planner_their_rows(
    session: Session, org: Org, ents: None
) -> None:
    """Each import analyzes what it wrote before it commits (closeloop.db.refresh_statistics):
    the figures asked for right after are planned on the imported rows."""
    points = ["code,enterprise_code,name,level"] + [f"P{i},E1,点位,low" for i in range(200)]
    reports = ["number,enterprise_code,level,reported_at"]
    reports += [f"R{i},E3,low,2025-06-01 09:00" for i in range(300)]
    for kind, lines in ((risk_import.import_points, points), (risk_import.import_reports, reports)):
        data = csv_file("\n".join(lines) + "\n")
        assert (
            kind(session, actor=org["admin"], fileobj=data, filename="l.csv", now=NOW)["imported"]
            == len(lines) - 1
        )
    counted = session.execute(
        sql("SELECT relname, reltuples FROM pg_class WHERE relname LIKE 'risk_%' AND relkind = 'r'")
    ).all()
    assert dict(counted) == {"risk_point": 200, "risk_report": 300}
