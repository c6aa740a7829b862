"""Reports made from the pages: `start` (the row, committed, only a closed period) then `build`
(each step committed so other sessions see the progress; a failure is recorded with its reason
and leaves no file), and a generation cut short reading as failed after 30 minutes."""

from datetime import timedelta

import pytest
from sqlmodel import select

from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.errors import Conflict, Invalid
from closeloop.reports import making
from closeloop.reports import service as reports
from models.enums import ReportStatus
from models.outbox import OutboxMessage
from models.report import Report
from tests.reports.seed import MONTH_END, seed


@pytest.fixture
def seeded(engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        data = seed(s, org)
        s.commit()
    return data


def _start(engine, org, who="sup", period="2025-09", now=MONTH_END) -> int:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        report = reports.start(s, actor=org[who], cadence="monthly", period=period, now=now)
        assert report.id is not None
        return report.id


def _load(engine, report_id: int) -> Report:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        report = s.get(Report, report_id)
        assert report is not None
        return report


def test_start_commits_a_generating_row_and_build_shows_each_step(engine, org, seeded, monkeypatch):
    report_id = _start(engine, org)
    row = _load(engine, report_id)
    assert (row.status, row.progress, row.files, row.generated_by) == (
        "generating",
        "metrics",
        {},
        org["sup"].id,
    )
    # While generating: no file, and the API shape says so.
    shown = reports.public(row, now=MONTH_END)
    assert (shown.status, shown.progress, shown.files) == ("generating", "metrics", {})

    seen: list[tuple[str, str | None]] = []

    def spy(name, real):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            # Another session sees the step under way: it was committed on its own.
            seen.append((name, _load(engine, report_id).progress))
            return real(*args, **kwargs)

        return wrapped

    for name in ("render_html", "html_to_pdf", "render_xlsx", "render_bulletin_html"):
        monkeypatch.setattr(making, name, spy(name, getattr(making, name)))
    assert reports.build(engine, report_id=report_id, now=MONTH_END) == "ready"
    assert seen == [
        ("render_html", "html"),
        ("html_to_pdf", "pdf"),
        ("render_xlsx", "xlsx"),
        ("render_bulletin_html", "bulletin"),
        ("html_to_pdf", "bulletin"),
    ]
    done = _load(engine, report_id)
    assert (done.status, done.progress, done.error) == ("ready", None, None)
    assert done.bulletin_number == "罗应急通〔2025〕1号"
    assert done.title == "罗湖区 2025年9月 安全隐患与网格事件闭环分析报告"
    assert done.summary["total"]["closure_rate"] == 0.5714
    assert set(done.files) == {"html", "pdf", "xlsx", "bulletin_html", "bulletin_pdf"}
    with new_session(engine) as s:
        _, path, _ = reports.open_file(
            s, actor=org["sup"], report_id=report_id, kind="bulletin_pdf"
        )
        assert path.read_bytes().startswith(b"%PDF")
        notices = s.exec(select(OutboxMessage).where(OutboxMessage.event == "report")).all()
        assert any(m.payload["report_id"] == report_id for m in notices)
        assert [r.id for r in reports.list_reports(s, actor=org["sup"])] == [report_id]


def test_the_figures_are_those_of_generate(engine, org, seeded):
    report_id = _start(engine, org)
    reports.build(engine, report_id=report_id, now=MONTH_END)
    built = _load(engine, report_id)
    with transaction(engine) as s:
        direct = reports.generate(
            s, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
        )
    assert direct.summary["total"] == built.summary["total"] and direct.as_of == built.as_of
    assert (direct.bulletin_number, built.bulletin_number) == (
        "罗应急通〔2025〕2号",
        "罗应急通〔2025〕1号",
    )


@pytest.mark.parametrize("where", ["render_xlsx", "_notify"])
def test_a_failure_is_recorded_in_words_and_leaves_no_file(engine, org, seeded, monkeypatch, where):
    report_id = _start(engine, org)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("No space left on device")

    monkeypatch.setattr(making, where, broken)
    assert reports.build(engine, report_id=report_id, now=MONTH_END) == "failed"
    row = _load(engine, report_id)
    assert row.status == "failed" and row.files == {}
    assert row.error is not None and "No space left on device" in row.error
    assert "生成失败" in row.error
    # _notify fails after the files were written: they are removed all the same.
    assert not reports.report_dir(get_settings(), report_id).exists()
    shown = reports.public(row, now=MONTH_END)
    assert (shown.status, shown.files) == ("failed", {}) and shown.error == row.error
    with new_session(engine) as s:
        with pytest.raises(Conflict, match="生成失败"):
            reports.open_file(s, actor=org["sup"], report_id=report_id, kind="pdf")
        assert reports.list_reports(s, actor=org["sup"]) == []
        listed = reports.list_reports(s, actor=org["sup"], unfinished=True)
        assert [r.id for r in listed] == [report_id]


def test_only_a_closed_period_is_started(engine, org, seeded):
    with transaction(engine) as s:
        with pytest.raises(Invalid, match="尚未结束") as refused:
            reports.start(s, actor=org["sup"], cadence="monthly", period="2025-10", now=MONTH_END)
        assert "has not ended yet" in refused.value.detail
        with pytest.raises(Invalid, match="尚未结束"):
            reports.start(s, actor=org["sup"], cadence="weekly", period="2026-W01", now=MONTH_END)
        # The month ended at midnight; its report may be made 30 minutes later.
        assert reports.start(
            s, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END
        )
        s.rollback()
    assert [p.key for p in reports.closed_periods("monthly", now=MONTH_END)][:2] == [
        "2025-09",
        "2025-08",
    ]


def test_a_generation_cut_short_goes_stale_and_may_be_made_again(engine, org, seeded):
    report_id = _start(engine, org)
    soon = MONTH_END + timedelta(minutes=5)
    with transaction(engine) as s:
        with pytest.raises(Conflict, match=f"报告 {report_id}"):
            reports.start(s, actor=org["sup"], cadence="monthly", period="2025-09", now=soon)
    row = _load(engine, report_id)
    assert reports.status_of(row, soon) == ("generating", "metrics", None)
    late = MONTH_END + timedelta(minutes=31)
    status, progress, error = reports.status_of(row, late)
    assert status == "failed" and progress is None and error and "30 分钟" in error
    with new_session(engine) as s:
        with pytest.raises(Conflict, match="生成失败"):
            reports.open_file(s, actor=org["sup"], report_id=report_id, kind="pdf", now=late)
        with pytest.raises(Conflict, match="正在生成"):
            reports.open_file(s, actor=org["sup"], report_id=report_id, kind="pdf", now=soon)
    again = _start(engine, org, now=late)
    assert reports.build(engine, report_id=again, now=late) == ReportStatus.ready
    assert _load(engine, report_id).status == "generating"  # the old row is left as it was


def test_build_takes_only_a_report_being_generated(engine, org, seeded):
    report_id = _start(engine, org)
    assert reports.build(engine, report_id=report_id, now=MONTH_END) == "ready"
    with pytest.raises(Conflict, match="not being generated"):
        reports.build(engine, report_id=report_id, now=MONTH_END)
    assert _load(engine, report_id).status == "ready"  # a finished report is not touched
    with new_session(engine) as s:
        _, path, _ = reports.open_file(s, actor=org["sup"], report_id=report_id, kind="pdf")
        assert path.exists()


def test_regions_offered(session, org):
    assert [r.code for r in reports.regions_for(session, actor=org["sup"])][:1] == ["D1"]
    codes = [r.code for r in reports.regions_for(session, actor=org["sup_s2"])]
    assert codes == ["S2"]
    with pytest.raises(Exception, match="supervisor"):
        reports.regions_for(session, actor=org["h_zj"])
