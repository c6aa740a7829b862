import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, text
from sqlmodel import col, select

from closeloop.calendar.days import SHANGHAI, WorkCalendar
from closeloop.db import refresh_statistics
from closeloop.errors import Invalid
from closeloop.imports import files as ledger_files
from closeloop.imports import service as imports
from models.case import Case
from models.history import CaseHistory
from tests.factories import NOW, new_case

COLUMNS = list(ledger_files.COLUMNS)
BASE = {
    "number": "",
    "kind": "event",
    "title": "占道经营",
    "category_code": "0101",
    "grid_code": "G1",
    "unit_code": "",
    "grade": "",
    "state": "reported",
    "reported_at": "2025-09-01T09:00:00+08:00",
    "dispatched_at": "",
    "due_at": "",
    "closed_at": "",
}
DISPATCHED = {"state": "dispatched", "dispatched_at": "2025-09-02T10:00:00+08:00"}


def row(**changes: str) -> dict[str, str]:
    return {**BASE, **changes}


def csv_bytes(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run(session, org, data: bytes, filename: str = "ledger.csv", **kw):  # type: ignore[no-untyped-def]
    rows = ledger_files.read_rows(io.BytesIO(data), filename)
    return imports.import_ledger(
        session, actor=org["admin"], rows=rows, source=filename, now=NOW, **kw
    )


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def by_number(session, number: str) -> Case:  # type: ignore[no-untyped-def]
    return session.exec(select(Case).where(Case.number == number)).one()


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_good_csv_imports_every_state(session, org):
    rows = [
        row(number="A1"),
        row(number="A2", **DISPATCHED),
        row(number="A3", state="rectifying", dispatched_at="2025-09-02T10:00:00+08:00"),
        row(number="A4", state="suspended", dispatched_at="2025-09-02T10:00:00+08:00"),
        row(number="A5", state="verifying", dispatched_at="2025-09-02T10:00:00+08:00"),
        row(
            number="A6",
            state="closed",
            dispatched_at="2025-09-02T10:00:00+08:00",
            closed_at="2025-09-05T16:00:00+08:00",
        ),
        row(number="A7", state="cancelled", closed_at="2025-09-01T12:00:00+08:00"),
        row(number="A8", kind="hazard", grade="major", grid_code="G3", **DISPATCHED),
        row(number="A9", kind="Hazard", grade="General", category_code="0201", unit_code="SW"),
    ]
    rows[-1].update(DISPATCHED)
    result = run(session, org, csv_bytes(rows))
    assert result == {"imported": 9, "rejected": [], "rejected_count": 0}

    reported = by_number(session, "A1")
    assert (reported.state, reported.unit_code, reported.due_at) == ("reported", None, None)
    assert reported.reported_at == shanghai(2025, 9, 1, 9)
    assert (reported.street_code, reported.community_code) == ("S1", "C1")
    assert reported.region_path.endswith("/S1/C1/G1/")
    assert (reported.reporter_id, reported.version, reported.deadline_version) == (None, 1, 0)

    dispatched = by_number(session, "A2")
    assert dispatched.unit_code == "ZJ"  # the category's default unit
    assert dispatched.due_at == shanghai(2025, 9, 9, 23, 59, 59)  # 5 working days
    assert dispatched.sign_due_at == shanghai(2025, 9, 2, 12)  # 2 working hours
    assert (dispatched.deadline_version, dispatched.signed_at, dispatched.listed) == (
        1,
        None,
        False,
    )

    assert by_number(session, "A3").signed_at == shanghai(2025, 9, 2, 10)
    assert by_number(session, "A4").suspended_at == NOW
    closed = by_number(session, "A6")
    assert closed.closed_at == shanghai(2025, 9, 5, 16) and closed.cancelled_at is None
    cancelled = by_number(session, "A7")
    assert cancelled.cancelled_at == shanghai(2025, 9, 1, 12) and cancelled.closed_at is None
    major = by_number(session, "A8")
    assert (major.grade, major.listed, major.street_code) == ("major", True, "S2")
    general = by_number(session, "A9")
    assert (general.kind, general.grade, general.unit_code) == ("hazard", "general", "SW")
    assert general.listed is False

    history = session.exec(select(CaseHistory).where(CaseHistory.case_id == dispatched.id)).all()
    assert len(history) == 1
    entry = history[0]
    assert (entry.action, entry.from_state, entry.to_state, entry.seq) == (
        "import",
        None,
        "dispatched",
        1,
    )
    assert (entry.actor, entry.actor_id, entry.at) == ("admin 测试", org["admin"].id, NOW)
    assert entry.data == {"source": "ledger.csv", "row": 3}
    assert count(session, CaseHistory) == 9


def test_xlsx_with_datetime_cells_and_numbers(session, org):
    book = Workbook()
    sheet = book.active
    sheet.append([*COLUMNS, "备注"])
    values = {**BASE, **DISPATCHED, "number": 1001, "category_code": "0102"}
    values["reported_at"] = datetime(2025, 9, 1, 9, 0)  # naive: Shanghai
    values["dispatched_at"] = datetime(2025, 9, 30, 9, 0)
    values["due_at"] = None
    sheet.append([values[c] or None for c in COLUMNS] + ["extra column is ignored"])
    sheet.append([None] * len(COLUMNS))  # a blank row is skipped, and still counts
    sheet.append([BASE[c] or None for c in COLUMNS])
    sheet.append(["", "event", "x", "9999", "G1", None, None, "reported", "2025-09-01"])
    buffer = io.BytesIO()
    book.save(buffer)

    result = run(session, org, buffer.getvalue(), filename="台账.XLSX")
    assert result["imported"] == 2
    assert [r["row"] for r in result["rejected"]] == [5]
    assert "9999" in result["rejected"][0]["error"]
    case = by_number(session, "1001")
    assert case.reported_at == datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    assert case.due_at == shanghai(2025, 10, 11, 23, 59, 59)
    history = session.exec(select(CaseHistory).order_by(col(CaseHistory.id))).all()
    assert [h.data["row"] for h in history] == [2, 4]


def test_due_at_across_the_national_day_holiday(session, org):
    data = csv_bytes([row(number="H1", category_code="0102", **DISPATCHED)])
    data = data.replace(b"2025-09-02T10:00:00+08:00", b"2025-09-30T09:00:00+08:00")
    assert run(session, org, data)["imported"] == 1
    case = by_number(session, "H1")
    # 10-01..10-08 are off; 10-09, 10-10 and the make-up Saturday 10-11 are the 3 working days.
    expected, estimated = WorkCalendar().due_after(shanghai(2025, 9, 30, 9), 3)
    assert expected == shanghai(2025, 10, 11, 23, 59, 59)
    assert (case.due_at, case.due_estimated) == (expected, estimated)
    assert case.deadline_version == 1


def test_explicit_due_at_is_kept(session, org):
    rows = [
        row(number="E1", **DISPATCHED, due_at="2025-09-20T18:00:00+08:00"),
        row(number="E2", **DISPATCHED, due_at="2025-09-20"),  # a date: the end of that day
        row(number="E3", **DISPATCHED, due_at="2031-01-10"),  # a year the calendar lacks
    ]
    assert run(session, org, csv_bytes(rows))["imported"] == 3
    assert by_number(session, "E1").due_at == shanghai(2025, 9, 20, 18)
    assert by_number(session, "E2").due_at == shanghai(2025, 9, 20, 23, 59, 59)
    assert by_number(session, "E1").due_estimated is False
    assert by_number(session, "E3").due_estimated is True


def test_times_without_offset_are_shanghai(session, org):
    rows = [
        row(number="T1", reported_at="2025-09-01 09:30"),
        row(number="T2", reported_at="2025-09-01T01:30:00Z"),
        row(number="T3", reported_at="2025-09-01"),
    ]
    assert run(session, org, csv_bytes(rows))["imported"] == 3
    assert by_number(session, "T1").reported_at == datetime(2025, 9, 1, 1, 30, tzinfo=UTC)
    assert by_number(session, "T2").reported_at == datetime(2025, 9, 1, 1, 30, tzinfo=UTC)
    assert by_number(session, "T3").reported_at == datetime(2025, 8, 31, 16, 0, tzinfo=UTC)


BAD_ROWS = [
    (dict(kind="letter"), "kind must be event or hazard"),
    (dict(title=""), "title must be 1 to 200"),
    (dict(title="长" * 201), "title must be 1 to 200"),
    (dict(category_code="0999"), "category_code '0999' does not exist"),
    (dict(category_code="01"), "is a class"),
    (dict(grid_code="C1"), "grid_code 'C1' is not a grid"),
    (dict(grid_code="NOPE"), "grid_code 'NOPE' is not a grid"),
    (dict(unit_code="XX", **DISPATCHED), "unit_code 'XX' does not exist"),
    (dict(kind="hazard"), "grade must be general or major"),
    (dict(kind="hazard", grade="huge"), "grade must be general or major"),
    (dict(grade="major"), "an event has no grade"),
    (dict(state="open"), "state must be one of"),
    (dict(reported_at=""), "reported_at is empty"),
    (dict(reported_at="2025/09/01 09:00"), "not an ISO 8601 time"),
    (dict(reported_at="2025-10-01T09:00:00+08:00"), "is in the future"),
    (dict(state="rectifying"), "needs dispatched_at"),
    (dict(state="dispatched", dispatched_at="2025-08-31T09:00:00+08:00"), "before reported_at"),
    (dict(dispatched_at="2025-09-02T10:00:00+08:00"), "leave dispatched_at empty"),
    (dict(unit_code="ZJ"), "leave unit_code empty"),
    (dict(state="cancelled", due_at="2025-09-20"), "leave due_at empty"),
    (dict(**DISPATCHED, due_at="2025-09-02T09:00:00+08:00"), "due_at is not after"),
    (dict(state="closed", dispatched_at="2025-09-02T10:00:00+08:00"), "needs closed_at"),
    (dict(**DISPATCHED, closed_at="2025-09-05T10:00:00+08:00"), "has no closed_at"),
    (
        dict(state="closed", dispatched_at="2025-09-02T10:00", closed_at="2025-09-02T09:00"),
        "closed_at is before dispatched_at",
    ),
    (dict(number="N" * 41), "longer than 40"),
]


@pytest.mark.parametrize(("changes", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_a_bad_row_is_rejected_with_its_row_number_and_reason(session, org, changes, reason):
    rows = [row(number="G1"), row(**{"number": "BAD", **changes}), row(number="G2")]
    result = run(session, org, csv_bytes(rows))
    assert result["imported"] == 2
    assert result["rejected_count"] == 1
    [rejection] = result["rejected"]
    assert rejection["row"] == 3
    assert reason in rejection["error"]
    assert " / " in rejection["error"]  # Chinese first, then English
    assert count(session, Case) == 2 and count(session, CaseHistory) == 2
    assert session.exec(select(Case).where(Case.number == "BAD")).first() is None


def test_every_problem_of_a_row_is_named(session, org):
    result = run(session, org, csv_bytes([row(kind="x", grid_code="G9", state="closed")]))
    error = result["rejected"][0]["error"]
    for part in ("kind must be", "grid_code 'G9'", "needs dispatched_at", "needs closed_at"):
        assert part in error


def test_category_without_a_default_unit_needs_unit_code(session, org):
    from models.org import Category

    session.get(Category, "0201").unit_code = None
    session.flush()
    rows = [
        row(category_code="0201", **DISPATCHED),
        row(category_code="0201", unit_code="SW", **DISPATCHED),
    ]
    result = run(session, org, csv_bytes(rows))
    assert result["imported"] == 1
    assert "names no default unit" in result["rejected"][0]["error"]


@pytest.mark.parametrize("batch_size", [1000, 2])
def test_duplicate_numbers_in_database_and_file(session, org, batch_size):
    existing = new_case(session, org)
    rows = [
        row(number=existing.number),  # 2: taken in the database
        row(number="D1"),  # 3
        row(number="D2"),  # 4
        row(number="D1"),  # 5: repeats row 3
        row(number="D3"),  # 6
        row(number="D1"),  # 7: repeats row 3, in a later batch when batch_size is 2
    ]
    result = run(session, org, csv_bytes(rows), batch_size=batch_size)
    assert result["imported"] == 3
    rejected = {r["row"]: r["error"] for r in result["rejected"]}
    assert sorted(rejected) == [2, 5, 7]
    assert "already exists" in rejected[2]
    assert "repeats an earlier row" in rejected[5] and "repeats an earlier row" in rejected[7]
    assert count(session, Case) == 4


def test_generated_numbers_skip_numbers_given_in_the_file(session, org):
    rows = [row(number="SJ2025000001"), row(), row(kind="hazard", grade="general")]
    assert run(session, org, csv_bytes(rows))["imported"] == 3
    numbers = session.exec(select(Case.number).order_by(col(Case.id))).all()
    assert numbers == ["SJ2025000001", "SJ2025000002", "YH2025000001"]


@pytest.mark.parametrize(("size", "batch_size"), [(7, 2), (1205, 500)])
def test_batches_map_ids_to_their_rows(session, org, size, batch_size):
    rows = [row(number=f"B{i}", title=f"t{i}") for i in range(size)]
    rows.insert(3, row(kind="bad"))
    result = run(session, org, csv_bytes(rows), batch_size=batch_size)
    assert (result["imported"], result["rejected_count"]) == (size, 1)
    pairs = session.exec(
        select(Case.number, Case.title, CaseHistory.data).join(
            CaseHistory, col(CaseHistory.case_id) == Case.id
        )
    ).all()
    assert len(pairs) == size
    for number, title, data in pairs:
        i = int(number[1:])
        assert title == f"t{i}"
        assert data["row"] == i + 2 + (1 if i >= 3 else 0)


def test_rejections_are_capped_but_counted(session, org):
    rows = [row(kind="bad") for _ in range(5)] + [row()]
    result = run(session, org, csv_bytes(rows), max_rejected=2)
    assert result["imported"] == 1
    assert [r["row"] for r in result["rejected"]] == [2, 3]
    assert result["rejected_count"] == 5


def test_csv_with_bom_extra_columns_blank_lines_and_any_case_header(session, org):
    header = [c.upper() for c in COLUMNS] + ["remarks"]
    body = csv_bytes([], columns=header).decode()
    line = ",".join(BASE[c] for c in COLUMNS) + ",备注\n"
    data = ("\ufeff" + body + line + "\n" + line.replace("占道经营", '"多行\n标题"')).encode()
    result = run(session, org, data)
    assert result["imported"] == 2, result
    history = session.exec(select(CaseHistory).order_by(col(CaseHistory.id))).all()
    assert [h.data["row"] for h in history] == [2, 4]
    assert by_number(session, "SJ2025000002").title == "多行\n标题"


def test_missing_header_columns_refuse_the_file(session, org):
    columns = [c for c in COLUMNS if c not in ("grid_code", "state")]
    with pytest.raises(Invalid) as info:
        run(session, org, csv_bytes([row()], columns=columns))
    assert "grid_code" in info.value.detail and "state" in info.value.detail
    assert count(session, Case) == 0 and count(session, CaseHistory) == 0


def test_optional_columns_may_be_left_out(session, org):
    columns = list(ledger_files.REQUIRED)
    assert run(session, org, csv_bytes([row()], columns=columns))["imported"] == 1


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("ledger.txt", b"x", "must be a .csv or .xlsx"),
        ("ledger.xls", b"x", "not supported"),
        ("ledger.xlsx", b"not a zip", "could not be read as XLSX"),
        ("ledger.csv", b"", "the file is empty"),
        ("ledger.csv", csv_bytes([row()]).decode().encode("gbk"), "row 2 is not UTF-8"),
    ],
)
def test_unreadable_files_are_refused(session, org, filename, data, message):
    with pytest.raises(Invalid) as info:
        run(session, org, data, filename=filename)
    assert message in info.value.detail


def test_a_file_failing_half_way_is_rolled_back_by_the_caller(session, org):
    data = csv_bytes([row() for _ in range(5)]) + "坏".encode("gbk") + b",x\n"
    with pytest.raises(Invalid) as info:
        run(session, org, data, batch_size=2)
    assert "row 7 is not UTF-8" in info.value.detail
    assert count(session, Case) == 4  # two batches went in before the bad line was read
    session.rollback()  # the caller owns the transaction: nothing stays
    assert count(session, Case) == 0 and count(session, CaseHistory) == 0


def _reltuples(engine, table: str) -> float:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return float(
            conn.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                {"t": f'"{table}"'},
            ).scalar_one()
        )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_import_leaves_the_planner_the_rows_it_wrote(engine, session, org):
    """An ANALYZE that ran while the import was uncommitted (autovacuum, set off by earlier
    changes) counted none of its rows: the import analyzes again before it commits, so the
    first report after it is planned on the imported rows, not on empty tables (a year's
    metrics took 530 s instead of 1 s so)."""
    closed = {**DISPATCHED, "state": "closed", "closed_at": "2025-09-03T10:00:00+08:00"}
    rows = [row(number=f"P{i}", **closed) for i in range(600)]
    seen: list[float] = []

    def ledger():  # type: ignore[no-untyped-def]
        for n, values in ledger_files.read_rows(io.BytesIO(csv_bytes(rows)), "ledger.csv"):
            if n == 400:  # two batches written, uncommitted: another session analyzes
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
                    other.execute(text('ANALYZE "case", case_history'))
                seen.append(_reltuples(engine, "case"))
            yield n, values

    result = imports.import_ledger(
        session, actor=org["admin"], rows=ledger(), source="l.csv", now=NOW, batch_size=100
    )
    assert result["imported"] == 600
    assert seen == [0]  # what the planner would read, had the import not analyzed again
    session.commit()
    assert _reltuples(engine, "case") == 600
    assert _reltuples(engine, "case_history") == 600


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_statistics_are_refreshed_when_autovacuum_would_refresh_them(engine, session, org):
    """The server's own rule (50 rows + 10 % of the rows last counted, by default): a few rows
    into a large table leave its statistics as they are; as many as the rule asks refresh them."""
    run(session, org, csv_bytes([row(number=f"P{i}") for i in range(1000)]))
    session.commit()
    assert _reltuples(engine, "case") == 1000
    assert refresh_statistics(session, {"case": 149, "case_history": 0}) == []
    assert refresh_statistics(session, {"case": 150, "case_history": 150}) == [
        "case",
        "case_history",
    ]
    session.rollback()
