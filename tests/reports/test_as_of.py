"""Issue 10, points 5 and 6: a closed period's report is computed as of its end from the history,
and regenerated later — after closes, a reopen, an extension, a return, a resumption and
escalation listing — it gives the same figures, lists, ranking and XLSX; every section counts the
same set (headline = lists = XLSX rows = 通报)."""

import importlib.util
import re
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlmodel import col

from closeloop.cases.service import overdue_clause
from closeloop.config import get_settings
from closeloop.errors import Invalid
from closeloop.reports import service as reports
from closeloop.reports.metrics import asof
from closeloop.reports.metrics import service as metrics
from models.case import Case
from models.history import CaseHistory
from models.types import SHANGHAI
from tests.reports.october import FIRST, OCTOBER_END, SECOND, after, before, sh


def _files(report) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    folder = reports.report_dir(get_settings(), report.id)
    return {kind: (folder / meta["name"]).read_bytes() for kind, meta in report.files.items()}


def _cells(xlsx: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(BytesIO(xlsx))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def _numbers(rows: list[tuple]) -> set[str]:
    return {r[1] for r in rows[1:] if r[0] is not None}


@pytest.fixture
def october(session, org, rank_small_groups):  # type: ignore[no-untyped-def]
    return before(session, org)


def test_the_october_report_is_the_same_on_5_november_and_20_december(session, org, october):  # type: ignore[no-untyped-def]
    c = october
    first = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-10", now=FIRST
    )
    first_files = _files(first)
    after(session, org, c)
    # The world moved on: a is closed, b reopened, d back to the desk, i listed by escalation.
    assert (c["a"].state, c["b"].state, c["d"].state, c["d"].unit_code) == (
        "closed",
        "rectifying",
        "reported",
        None,
    )
    assert c["i"].listed and c["c"].due_at is not None and c["c"].due_at > OCTOBER_END
    second = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-10", now=SECOND
    )
    assert first.as_of == second.as_of == OCTOBER_END
    assert first.summary["total"] == second.summary["total"]
    total = second.summary["total"]
    # By hand (october.py): 8 reported, 1 cancelled, b closed on time; overdue a c d f h i; f listed.
    assert (total["reported"], total["accepted"], total["closed"], total["on_time_closed"]) == (
        8,
        7,
        1,
        1,
    )
    assert (total["overdue_open"], total["listed"]) == (6, 1)
    assert total["letters"]["supervision"] == 1 and total["letters"]["total"] == 1

    one, two = _cells(first_files["xlsx"]), _cells(_files(second)["xlsx"])
    assert one == two  # every sheet, every cell: figures, trend, rankings, lists, letters
    overdue = two["超期案件"]
    assert _numbers(overdue) == {c[k].number for k in "acdfhi"}
    rows = {r[1]: r for r in overdue[1:]}
    # Each case as it stood at the end of October: d with SW, not yet signed; c at its old deadline.
    assert rows[c["d"].number][5] == "区水务局" and rows[c["d"].number][6] == "待签收"
    assert rows[c["c"].number][8].date().isoformat() == "2025-10-16"
    assert rows[c["a"].number][6] == "整改中" and rows[c["f"].number][11] == "是"
    assert _numbers(two["挂牌督办"]) == {c["f"].number}
    assert c["g"].number not in str(two)  # reported in November


def test_every_section_counts_the_same_set(session, org, october):  # type: ignore[no-untyped-def]
    after(session, org, october)
    report = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-10", now=SECOND
    )
    files = _files(report)
    total = report.summary["total"]
    cells = _cells(files["xlsx"])
    overview = {r[0]: r[1] for r in cells["概览"][1:] if r[0]}
    assert overview["超期未办结"] == total["overdue_open"] == len(_numbers(cells["超期案件"])) == 6
    assert overview["挂牌督办"] == total["listed"] == len(_numbers(cells["挂牌督办"])) == 1
    kinds = {r[0]: r for r in cells["按类型"][1:]}
    overdue_col = cells["按类型"][0].index("超期未办结")
    assert sum(r[overdue_col] for r in kinds.values()) == 6
    streets = cells["街道排名"]
    column = streets[0].index("超期未办结")
    assert sum(r[column] for r in streets[1:]) == 6
    text = "\n".join(str(v) for r in cells["概览"] for v in r if v)
    assert "统计时点" in text and "2025年10月31日24时" in text and "超期未办结：" in text

    html = files["html"].decode()
    section = html.split("六、超期未办结案件")[1].split("七、")[0]
    assert section.count("<tr>") - 1 == 6 and "另有" not in section
    listed = html.split("七、挂牌督办案件")[1].split("八、")[0]
    assert listed.count("<tr>") - 1 == 1
    assert "截至统计时点（2025年10月31日24时）超期未办结 6 件，挂牌督办 1 件" in html
    bulletin = files["bulletin_html"].decode()
    assert "超期未办结6件，挂牌督办1件" in bulletin
    assert "仍有1件挂牌督办事项未整改到位" in bulletin and october["f"].number in bulletin
    # The kind's rate is closed / accepted: the sentence names both (x was cancelled).
    assert "网格事件上报7件，立案6件，办结1件，办结率16.67%" in bulletin
    assert october["g"].number not in html + bulletin


def test_metrics_api_as_of_a_past_moment_answers_from_the_history(
    client, auth, engine, org, clock, rank_small_groups
):  # type: ignore[no-untyped-def]
    from closeloop.db import new_session

    with new_session(engine) as s:
        cases = before(s, org)
        s.commit()
        clock.at = FIRST  # before the first token: tokens expire by the clock
        params = {
            "from": "2025-10-01",
            "to": "2025-10-31",
            "group_by": "unit",
            "as_of": OCTOBER_END.isoformat(),
        }
        early = client.get("/api/v1/reports/metrics", params=params, headers=auth("sup"))
        assert early.status_code == 200, early.text
        after(s, org, cases)
        s.commit()
    clock.at = SECOND
    late = client.get("/api/v1/reports/metrics", params=params, headers=auth("disp"))
    assert late.status_code == 200 and late.json() == early.json()
    body = late.json()
    assert (body["total"]["overdue_open"], body["total"]["listed"]) == (6, 1)
    units = {g["key"]: g for g in body["groups"]}
    assert units["SW"]["overdue_open"] == 1 and units["ZJ"]["overdue_open"] == 5  # d was SW's
    # Today's figures differ: a and f are closed since, d is back at the desk.
    now = client.get(
        "/api/v1/reports/metrics",
        headers=auth("disp"),
        params={k: v for k, v in params.items() if k != "as_of"},
    )
    assert now.json()["total"]["closed"] != body["total"]["closed"]
    future = client.get(
        "/api/v1/reports/metrics",
        headers=auth("disp"),
        params={**params, "as_of": "2026-01-01T00:00:00+08:00"},
    )
    assert future.status_code == 422 and "as_of" in future.json()["detail"]


def test_at_now_the_history_answers_what_the_live_columns_say(session, org, october):  # type: ignore[no-untyped-def]
    after(session, org, october)
    a = asof.at(SECOND)
    rows = session.execute(
        select(Case, a.c.state, a.c.due_at, a.c.closed_at, a.c.listed, a.c.unit_code).join(
            a, a.c.case_id == col(Case.id)
        )
    ).all()
    assert len(rows) == session.scalar(select(func.count()).select_from(Case))
    for case, state, due_at, closed_at, listed, unit_code in rows:
        assert (state, due_at, closed_at, bool(listed), unit_code) == (
            case.state,
            case.due_at,
            case.closed_at,
            case.listed,
            case.unit_code,
        ), case.number
    live = session.scalar(select(func.count()).select_from(Case).where(overdue_clause(SECOND)))
    history = session.scalar(
        select(func.count())
        .select_from(Case)
        .join(a, a.c.case_id == col(Case.id))
        .where(asof.overdue(a, SECOND))
    )
    assert live == history and live > 0


def test_the_migration_backfill_replays_what_append_writes(session, org, october):  # type: ignore[no-untyped-def]
    after(session, org, october)
    snapshot = (
        CaseHistory.id,
        CaseHistory.due_at,
        CaseHistory.dispatched_at,
        CaseHistory.closed_at,
        CaseHistory.listed,
        CaseHistory.unit_code,
    )
    written = session.execute(select(*snapshot).order_by(col(CaseHistory.id))).all()
    session.execute(
        update(CaseHistory).values(
            due_at=None, dispatched_at=None, closed_at=None, listed=None, unit_code=None
        )
    )
    path = Path(__file__).parents[2] / "models/migrations/versions/0005_history_snapshot.py"
    spec = importlib.util.spec_from_file_location("m0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._backfill(session.connection())
    replayed = session.execute(select(*snapshot).order_by(col(CaseHistory.id))).all()
    assert replayed == written


def test_a_report_time_later_than_generation_is_refused(session, org, october):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="as_of must not be later"):
        reports.generate(
            session, actor=org["sup"], cadence="monthly", period="2025-10", now=FIRST, as_of=SECOND
        )


def test_the_api_refuses_a_report_time_after_now(client, auth):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/reports",
        headers=auth("sup"),
        json={"cadence": "monthly", "period": "2025-09", "as_of": "2099-01-01T00:00:00+08:00"},
    )
    assert r.status_code == 422 and "统计时点" in r.json()["detail"]


def test_a_stated_report_time_and_an_open_period(session, org, october):  # type: ignore[no-untyped-def]
    # A stated time: the figures as of 20 October 18:00 (b closed, a not yet overdue… a is due
    # 16 Oct: overdue; f not yet due; d due 17 Oct: overdue).
    stated = reports.generate(
        session,
        actor=org["sup"],
        cadence="monthly",
        period="2025-10",
        now=FIRST,
        as_of=sh(10, 20, 18),
    )
    assert stated.as_of == sh(10, 20, 18)
    total = stated.summary["total"]
    assert total["reported"] == 6 and total["closed"] == 1  # e, i, x filed later
    # November, not over on 5 November 11:46: as of the generation time, shown in Shanghai time.
    now = sh(11, 5, 11).replace(minute=46)
    current = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-11", now=now
    )
    assert current.as_of == now
    cells = _cells(_files(current)["xlsx"])
    info = {r[0]: r[1] for r in cells["概览"] if r[0]}
    assert info["统计时点"] == "2025年11月5日 11:46（北京时间）"


def test_no_english_in_the_xlsx(session, org, october):  # type: ignore[no-untyped-def]
    report = reports.generate(
        session, actor=org["sup"], cadence="monthly", period="2025-10", now=FIRST
    )
    words = re.compile(r"[A-Za-z]{3,}")
    for sheet, rows in _cells(_files(report)["xlsx"]).items():
        for row in rows:
            for v in row:
                assert not (isinstance(v, str) and words.search(v)), (sheet, v)
    units = metrics.compute(
        session,
        actor=org["sup"],
        date_from=sh(10, 1).date(),
        date_to=sh(10, 31).date(),
        now=FIRST,
        group_by="unit",
    )
    assert "未派遣" in {g.name for g in units.groups}  # x, cancelled before dispatch


def test_an_imported_ledger_is_read_as_of_t(session, org):  # type: ignore[no-untyped-def]
    """The import entry stands for the ledger: a case the ledger closed in October was open (and
    overdue) at the end of September; one dispatched in October was not yet dispatched then."""
    from closeloop.imports import service as imports

    rows = [
        {
            "number": "TZ1",
            "kind": "event",
            "title": "台账",
            "category_code": "0101",
            "grid_code": "G1",
            "unit_code": "ZJ",
            "state": "closed",
            "reported_at": "2025-09-01 09:00",
            "dispatched_at": "2025-09-01 10:00",
            "due_at": "2025-09-05",
            "closed_at": "2025-10-10 10:00",
        },
        {
            "number": "TZ2",
            "kind": "event",
            "title": "台账",
            "category_code": "0101",
            "grid_code": "G3",
            "unit_code": "ZJ",
            "state": "rectifying",
            "reported_at": "2025-09-29 09:00",
            "dispatched_at": "2025-10-09 10:00",
        },
    ]
    result = imports.import_ledger(
        session,
        actor=org["admin"],
        rows=enumerate(rows, start=2),
        source="ledger.csv",
        now=sh(11, 1),
    )
    assert result["imported"] == 2, result
    sept = {"date_from": sh(9, 1).date(), "date_to": sh(9, 30).date(), "now": sh(11, 2)}
    at_end = metrics.compute(
        session,
        actor=org["sup"],
        group_by="unit",
        as_of=datetime(2025, 10, 1, tzinfo=SHANGHAI),
        **sept,
    )
    assert (at_end.total.reported, at_end.total.closed, at_end.total.overdue_open) == (2, 0, 1)
    units = {g.key: g for g in at_end.groups}
    assert units["ZJ"].overdue_open == 1 and units[None].reported == 1  # TZ2: not yet dispatched
    later = metrics.compute(session, actor=org["sup"], **sept)
    assert (later.total.closed, later.total.on_time_closed, later.total.overdue_open) == (1, 0, 1)
