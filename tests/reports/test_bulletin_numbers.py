"""The 通报 number of a report made from the pages (start + build) is an official series without
gaps (docs/design.md "Letters"): it is drawn in the last step's transaction, with the files that
print it, so a generation that fails at any step, or is cut short, uses no number; two
generations at once never print or keep the same number (SQLite and PostgreSQL)."""

import re
import subprocess
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from closeloop.config import get_settings
from closeloop.db import new_session, transaction
from closeloop.reports import making
from closeloop.reports import service as reports
from models.report import Report
from tests.reports.seed import MONTH_END, seed


def number(n: int) -> str:
    return f"罗应急通〔2025〕{n}号"


@pytest.fixture
def seeded(engine, org):  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        data = seed(s, org)
        s.commit()
    return data


def _start(engine, org, period="2025-09", now=MONTH_END) -> int:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        report = reports.start(s, actor=org["sup"], cadence="monthly", period=period, now=now)
        assert report.id is not None
        return report.id


def _row(engine, report_id: int) -> Report:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        report = s.get(Report, report_id)
        assert report is not None
        return report


def _issued(engine) -> list[str | None]:  # type: ignore[no-untyped-def]
    """The 通报 numbers of the ready reports, in the order of the series."""
    with new_session(engine) as s:
        rows = s.exec(select(Report).where(Report.status == "ready").order_by(col(Report.id)))
        found = [r.bulletin_number or "" for r in rows]
    return sorted(found, key=lambda n: int(re.sub(r"\D", "", n.split("〕")[-1]) or 0))


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def _prints(report_id: int, wanted: str) -> None:
    """Every file of the report that prints the 通报 number prints `wanted` (and the workbook,
    which does not print it, is there too)."""
    folder = reports.report_dir(get_settings(), report_id)
    assert wanted in _pdf_text((folder / "bulletin.pdf").read_bytes())
    assert wanted in (folder / "bulletin.html").read_text()
    assert wanted in (folder / "report.html").read_text()
    assert wanted in _pdf_text((folder / "report.pdf").read_bytes())
    assert (folder / "report.xlsx").exists()


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise OSError("No space left on device")


@pytest.mark.parametrize("where", ["html_to_pdf", "render_bulletin_html", "_store", "_notify"])
def test_a_failed_generation_leaves_no_gap(engine, org, seeded, monkeypatch, where):
    with transaction(engine) as s:  # the one-transaction way (API, command line, flows)
        first = reports.generate(
            s, actor=org["sup"], cadence="monthly", period="2025-08", now=MONTH_END
        )
        assert first.bulletin_number == number(1)
    failing = _start(engine, org)
    # _store and _notify fail in the last transaction, after the number was drawn.
    with monkeypatch.context() as m:
        m.setattr(making, where, _broken)
        assert reports.build(engine, report_id=failing, now=MONTH_END) == "failed"
    row = _row(engine, failing)
    assert (row.status, row.bulletin_number, row.files) == ("failed", None, {})
    assert "No space left on device" in (row.error or "")

    again = _start(engine, org)
    assert reports.build(engine, report_id=again, now=MONTH_END) == "ready"
    assert _row(engine, again).bulletin_number == number(2)  # 1, 2: not 1, 3
    _prints(again, number(2))


def test_two_failures_then_two_successes(engine, org, seeded, monkeypatch):
    for where in ("render_xlsx", "_notify"):
        report_id = _start(engine, org)
        with monkeypatch.context() as m:
            m.setattr(making, where, _broken)
            assert reports.build(engine, report_id=report_id, now=MONTH_END) == "failed"
    for period in ("2025-09", "2025-08"):
        report_id = _start(engine, org, period=period)
        assert reports.build(engine, report_id=report_id, now=MONTH_END) == "ready"
        _prints(report_id, _row(engine, report_id).bulletin_number or "?")
    assert _issued(engine) == [number(1), number(2)]
    with new_session(engine) as s:
        failed = s.exec(select(Report).where(Report.status == "failed")).all()
        assert len(failed) == 2 and all(r.bulletin_number is None for r in failed)
    with transaction(engine) as s:  # the one-transaction way continues the same series
        third = reports.generate(
            s, actor=org["sup"], cadence="weekly", period="2025-W38", now=MONTH_END
        )
        assert third.bulletin_number == number(3)


def test_the_one_transaction_way_gives_its_number_back_on_rollback(engine, org, seeded):
    with pytest.raises(RuntimeError), transaction(engine) as s:
        reports.generate(s, actor=org["sup"], cadence="monthly", period="2025-09", now=MONTH_END)
        raise RuntimeError("the caller's transaction fails after the report was made")
    report_id = _start(engine, org)
    assert reports.build(engine, report_id=report_id, now=MONTH_END) == "ready"
    assert _issued(engine) == [number(1)]


def test_a_generation_cut_short_holds_no_number(engine, org, seeded, monkeypatch):
    """A build stalls (its server stopped, or it is only slow): after 30 minutes it reads as
    failed and the period is made again, taking the next number in the series; should the
    stalled build still finish, it takes the number after, never the same one."""
    stalled = _start(engine, org)
    release, reached = threading.Event(), threading.Event()
    real = making.render_bulletin_html

    def stall(*args: Any, **kwargs: Any) -> str:
        if threading.current_thread().name == "stalled":
            reached.set()
            assert release.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(making, "render_bulletin_html", stall)
    results: list[str] = []
    thread = threading.Thread(
        target=lambda: results.append(reports.build(engine, report_id=stalled, now=MONTH_END)),
        name="stalled",
    )
    thread.start()
    try:
        assert reached.wait(120)
        late = MONTH_END + timedelta(minutes=31)
        row = _row(engine, stalled)
        assert (row.status, row.progress, row.bulletin_number) == ("generating", "bulletin", None)
        assert reports.status_of(row, late)[0] == "failed"
        again = _start(engine, org, now=late)
        assert reports.build(engine, report_id=again, now=late) == "ready"
        assert _row(engine, again).bulletin_number == number(1)
        _prints(again, number(1))
    finally:
        release.set()
        thread.join(120)
    assert results == ["ready"]
    assert _row(engine, stalled).bulletin_number == number(2)
    _prints(stalled, number(2))
    assert _issued(engine) == [number(1), number(2)]


def test_concurrent_generations_never_share_a_number(engine, org, seeded, monkeypatch):
    """Both generations render their files expecting number 1; the one that stores second finds
    1 taken, renders the files that print the number again with 2, and keeps its workbook."""
    first, second = _start(engine, org, period="2025-09"), _start(engine, org, period="2025-08")
    both_expect = threading.Barrier(2, timeout=120)
    calls = {"render_xlsx": 0, "render_bulletin_html": 0}
    lock = threading.Lock()

    def counted(name: str) -> Any:
        real = getattr(making, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with lock:
                calls[name] += 1
            if name == "render_xlsx":
                both_expect.wait()  # both prepared (and expect the same number) before either stores
            return real(*args, **kwargs)

        return wrapped

    for name in calls:
        monkeypatch.setattr(making, name, counted(name))
    results: dict[int, str] = {}

    def run(report_id: int) -> None:
        results[report_id] = reports.build(engine, report_id=report_id, now=MONTH_END)

    threads = [threading.Thread(target=run, args=(i,)) for i in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results == {first: "ready", second: "ready"}
    numbers = {i: _row(engine, i).bulletin_number for i in (first, second)}
    assert sorted(numbers.values(), key=str) == [number(1), number(2)]
    for report_id, n in numbers.items():
        _prints(report_id, n or "?")
    assert calls == {"render_xlsx": 2, "render_bulletin_html": 3}


@pytest.mark.parametrize("races", [3, 1])
def test_a_number_taken_while_rendering_is_rendered_again(engine, org, seeded, monkeypatch, races):
    """Another report takes the expected number while the files are rendered: they are rendered
    again with the next one; after losing RACES times the number is drawn under the lock."""
    monkeypatch.setattr(making, "RACES", races)
    report_id = _start(engine, org)
    real, taken, renders = making.render_bulletin_html, [], [0]

    def meanwhile(*args: Any, **kwargs: Any) -> str:
        renders[0] += 1
        if renders[0] == 1:  # the first rendering: an API generation takes number 1 meanwhile
            with transaction(engine) as s:
                other = reports.generate(
                    s, actor=org["sup"], cadence="monthly", period="2025-08", now=MONTH_END
                )
                taken.append(other.bulletin_number)
        return real(*args, **kwargs)

    issued: list[str] = []
    real_issue = making.issue

    def spy_issue(session: Any, content: Any, **kwargs: Any) -> None:
        issued.append(content.bulletin_number)
        real_issue(session, content, **kwargs)

    monkeypatch.setattr(making, "render_bulletin_html", meanwhile)
    monkeypatch.setattr(making, "issue", spy_issue)
    assert reports.build(engine, report_id=report_id, now=MONTH_END) == "ready"
    assert taken == [number(1)] and _row(engine, report_id).bulletin_number == number(2)
    _prints(report_id, number(2))
    # Raced twice (expected 1, then 2), or lost the only race and drew 2 under the lock.
    assert issued == ([number(1), number(2)] if races == 3 else [number(1)])
    assert _issued(engine) == [number(1), number(2)]
