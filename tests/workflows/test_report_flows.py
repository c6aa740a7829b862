"""The report flows as the scheduler runs them: run_job("report-monthly") twice makes one report,
of the last complete month, with the right figures; the job table schedules all three."""

from datetime import UTC, datetime

from sqlmodel import select

from closeloop.db import new_session
from models.report import Report
from tests.reports.seed import seed
from workflows import jobs
from workflows.flows import FLOWS, run_job

FIRST_OF_OCTOBER = datetime(2025, 10, 1, 0, 0, tzinfo=UTC)  # 08:00 Shanghai, the monthly slot


def test_monthly_job_makes_the_report_once(engine, org):
    with new_session(engine) as s:
        seed(s, org)
        s.commit()
    first = run_job("report-monthly", now=FIRST_OF_OCTOBER, engine=engine)
    second = run_job("report-monthly", now=FIRST_OF_OCTOBER, engine=engine)
    assert first["period"] == "2025-09" and len(first["generated"]) == 1
    assert second["generated"] == [] and second["existing"] == ["D1"]
    with new_session(engine) as s:
        rows = s.exec(select(Report)).all()
    assert len(rows) == 1
    report = rows[0]
    assert report.id == first["generated"][0]
    assert (report.cadence, report.period, report.region_code) == ("monthly", "2025-09", "D1")
    assert report.scheduled_key == "monthly:2025-09:D1" and report.generated_by is None
    total = report.summary["total"]
    assert (total["reported"], total["accepted"], total["closed"]) == (8, 7, 4)
    assert total["closure_rate"] == 0.5714 and report.bulletin_number == "罗应急通〔2025〕1号"


def test_weekly_and_quarterly_jobs_report_the_last_complete_period(engine, org):
    monday = datetime(2025, 10, 6, 0, 0, tzinfo=UTC)  # Monday 08:00 Shanghai
    assert run_job("report-weekly", now=monday, engine=engine)["period"] == "2025-W40"
    quarterly = run_job("report-quarterly", now=FIRST_OF_OCTOBER, engine=engine)
    assert quarterly["period"] == "2025-Q3" and len(quarterly["generated"]) == 1


def test_the_job_table_schedules_the_reports():
    table = {j.name: (j.flow, j.cron) for j in jobs.JOBS}
    assert table["report-weekly"] == ("report_weekly", "0 8 * * mon")
    assert table["report-monthly"] == ("report_monthly", "0 8 1 * *")
    assert table["report-quarterly"] == ("report_quarterly", "0 8 1 jan,apr,jul,oct *")
    assert all(j.flow in FLOWS for j in jobs.JOBS)
