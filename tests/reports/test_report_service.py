"""services.reports on real data (SQLite and PostgreSQL): generate, files, numbering, jurisdiction,
subscribers, the scheduled run's idempotency."""

import hashlib
import subprocess
from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from closeloop.config import get_settings
from closeloop.db import new_session
from closeloop.errors import Forbidden, Invalid, NotFound
from closeloop.reports import service as reports
from models.outbox import OutboxMessage
from models.report import Report
from tests.reports.seed import MONTH_END, seed
from workflows.flows import run_job


@pytest.fixture
def seeded(engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        data = seed(s, org)
        s.commit()
    return data


def _text(path) -> str:  # type: ignore[no-untyped-def]
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True)
    return "".join(out.stdout.split())


def test_generate_stores_every_file_with_the_figures(
    session, org, seeded, monkeypatch, rank_small_groups
):
    monkeypatch.setenv("CLOSELOOP_REPORT_RECIPIENTS", "leader@example.cn, office@example.cn")
    get_settings.cache_clear()
    report = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
    )
    assert report is not None and report.id is not None
    assert (report.cadence, report.period, report.region_code) == ("monthly", "2025-09", "D1")
    assert report.title == "罗湖区 2025年9月 安全隐患与网格事件闭环分析报告"
    assert report.bulletin_number == "罗应急通〔2025〕1号"
    assert report.generated_by == org["sup"].id and report.scheduled_key is None
    total = report.summary["total"]
    # 8 filed (7 events and hazards + 1 cancelled), 7 accepted, 4 closed, 3 overdue.
    assert (total["reported"], total["accepted"], total["closed"]) == (8, 7, 4)
    assert total["closure_rate"] == 0.5714 and total["overdue_open"] == 3
    folder = reports.report_dir(get_settings(), report.id)
    for meta in report.files.values():
        data = (folder / meta["name"]).read_bytes()
        assert meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert set(report.files) == {"html", "pdf", "xlsx", "bulletin_html", "bulletin_pdf"}

    html = (folder / "report.html").read_text()
    assert "57.14%" in html and seeded.letter_number in html and "建议约谈" in html
    for case in seeded.overdue:
        assert case.number in html
    pdf = _text(folder / "report.pdf")
    assert "安全隐患与网格事件闭环分析报告" in pdf and "57.14%" in pdf and "东门街道" in pdf
    bulletin = _text(folder / "bulletin.pdf")
    assert "罗应急通〔2025〕1号" in bulletin and "关于2025年9月安全隐患整改情况的通报" in bulletin
    assert "东门街道综合指标排名靠后" in bulletin and seeded.overdue[0].number in bulletin
    wb = load_workbook(BytesIO((folder / "report.xlsx").read_bytes()))
    overview = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert overview["上报数"] == 8 and overview["办结率"] == 0.5714
    streets = {r[1]: r for r in wb["街道排名"].iter_rows(min_row=2, values_only=True)}
    assert streets["南湖街道"][0] == 1 and streets["东门街道"][0] == 2

    # Subscribers: the district's supervisor (in-app and email if any) and the configured emails.
    msgs = session.exec(select(OutboxMessage).where(OutboxMessage.event == "report")).all()
    recipients = {(m.channel, m.recipient) for m in msgs}
    assert ("inapp", str(org["sup"].id)) in recipients
    assert ("inapp", str(org["sup_s2"].id)) not in recipients  # covers S2 only, not the district
    assert {("email", "leader@example.cn"), ("email", "office@example.cn")} <= recipients
    assert all("57.14%" in m.body and m.payload["report_id"] == report.id for m in msgs)


def test_each_generation_is_a_new_report_and_bulletins_are_numbered_without_gaps(
    session, org, seeded
):
    first = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
    )
    second = reports.generate(
        session, actor=org["disp"], cadence="weekly", period="2025-W36", now=MONTH_END
    )
    assert first and second and first.id != second.id
    assert (first.bulletin_number, second.bulletin_number) == (
        "罗应急通〔2025〕1号",
        "罗应急通〔2025〕2号",
    )
    next_year = reports.generate(
        session,
        actor=org["admin"],
        cadence="quarterly",
        period="2025-Q4",
        region_code="S1",
        now=datetime(2026, 1, 1, 1, 0, tzinfo=UTC),
    )
    assert next_year and next_year.bulletin_number == "罗应急通〔2026〕1号"
    assert next_year.title.startswith("东门街道 2025年第四季度")
    listed = reports.list_reports(session, actor=org["sup"])
    assert [r.id for r in listed] == [next_year.id, second.id, first.id]  # newest first
    assert [r.id for r in reports.list_reports(session, actor=org["sup"], cadence="weekly")] == [
        second.id
    ]


def test_jurisdiction(session, org, seeded):
    for who in ("rep1", "h_zj"):
        with pytest.raises(Forbidden):
            reports.generate(
                session, actor=org[who], cadence="monthly", period="2025-09", now=MONTH_END
            )
        with pytest.raises(Forbidden):
            reports.list_reports(session, actor=org[who])
    with pytest.raises(Forbidden):  # the district is not inside S2
        reports.generate(
            session,
            actor=org["sup_s2"],
            cadence="monthly",
            period="2025-09",
            region_code="D1",
            now=MONTH_END,
        )
    with pytest.raises(Invalid, match="报告期无效"):
        reports.generate(
            session, actor=org["sup"], cadence="monthly", period="2025-9x", now=MONTH_END
        )
    with pytest.raises(Invalid, match="does not exist"):
        reports.generate(
            session,
            actor=org["sup"],
            cadence="monthly",
            period="2025-09",
            region_code="NOPE",
            now=MONTH_END,
        )
    own = reports.generate(
        session, actor=org["sup_s2"], cadence="monthly", period="2025-09", now=MONTH_END
    )
    district = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
    )
    assert own and district and own.region_code == "S2"
    assert own.summary["total"]["reported"] == 1 and own.summary["total"]["closure_rate"] == 1.0
    assert [r.id for r in reports.list_reports(session, actor=org["sup_s2"])] == [own.id]
    assert district.id is not None and own.id is not None
    with pytest.raises(Forbidden):
        reports.get_report(session, actor=org["sup_s2"], report_id=district.id)
    assert reports.get_report(session, actor=org["disp"], report_id=own.id).id == own.id
    with pytest.raises(NotFound):
        reports.get_report(session, actor=org["sup"], report_id=999999)
    with pytest.raises(NotFound):
        reports.open_file(session, actor=org["sup"], report_id=own.id, kind="docx")
    _, path, content_type = reports.open_file(
        session, actor=org["sup"], report_id=own.id, kind="pdf"
    )
    assert path.read_bytes().startswith(b"%PDF") and content_type == "application/pdf"


def test_scheduled_run_makes_each_period_once(engine, org, seeded):
    first = run_job("report-monthly", now=MONTH_END, engine=engine)
    again = run_job("report-monthly", now=MONTH_END, engine=engine)
    assert first["period"] == "2025-09" and len(first["generated"]) == 1
    assert again == {"cadence": "monthly", "period": "2025-09", "generated": [], "existing": ["D1"]}
    with new_session(engine) as s:
        rows = s.exec(select(Report)).all()
        assert len(rows) == 1 and rows[0].scheduled_key == "monthly:2025-09:D1"
        assert rows[0].generated_by is None and rows[0].bulletin_number == "罗应急通〔2025〕1号"
        notices = s.exec(select(col(OutboxMessage.id)).where(OutboxMessage.event == "report"))
        assert len(notices.all()) >= 1


def test_concurrent_scheduled_runs_make_one_report(engine, org, seeded):
    import threading

    results: list[dict] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            results.append(run_job("report-weekly", now=MONTH_END, engine=engine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(len(r["generated"]) for r in results) == [0, 1]
    with new_session(engine) as s:
        rows = s.exec(select(Report)).all()
    assert len(rows) == 1 and rows[0].period == "2025-W39"
    assert rows[0].bulletin_number == "罗应急通〔2025〕1号"


def test_a_rolled_back_report_gives_its_bulletin_number_back(engine, org, seeded):
    with new_session(engine) as s:
        reports.generate(s, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END)
        s.rollback()
    with new_session(engine) as s:
        assert s.exec(select(Report)).all() == []
        again = reports.generate(
            s, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
        )
        s.commit()
    assert again.bulletin_number == "罗应急通〔2025〕1号"
