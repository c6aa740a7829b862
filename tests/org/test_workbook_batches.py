"""The organisation workbook's new rows are written in batches (org.Batch): a handful of
statements for a district, not four per row; a batch the database refuses is imported again
row by row, so the refused row is still reported and nothing is written."""

import collections

import pytest
from sqlalchemy import event, text

from models.org import Region
from tests.org.test_workbook import GOOD, counts, csv_bytes, run, xlsx


def _statements(session):
    seen: list[str] = []
    engine = session.get_bind()

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_a_district_is_written_in_a_handful_of_statements(session):
    from tests.org.luohu import luohu_xlsx

    data = luohu_xlsx()
    seen, stop = _statements(session)
    try:
        result = run(session, data, "luohu.xlsx")
    finally:
        stop()
    assert result["rejected"] == [] and sum(result["created"].values()) == 1706
    # The old row-by-row import ran ~4 statements a row (6,800 here): an existence check, a
    # savepoint, the insert and its release. Now: no query or savepoint per row, and the rows
    # of a level go in one INSERT of many rows — except users on SQLite, one at a time there
    # (their ids come back a row at a time).
    inserts = [s for s in seen if s.startswith("INSERT")]
    assert len(seen) - len(inserts) < 30, collections.Counter(s[:50] for s in seen)
    users = sum(1 for s in inserts if s.replace('"', "").startswith("INSERT INTO user "))
    sqlite = session.get_bind().dialect.name == "sqlite"
    assert len(inserts) - users < 20 and users <= (300 if sqlite else 2), users
    assert session.get(Region, "LH0000W12").path == "/LH/LH00/LH0000/LH0000W12/"  # type: ignore[union-attr]
    if not sqlite:  # analyzed before the caller commits (closeloop.db.refresh_statistics)
        counted = "SELECT reltuples FROM pg_class WHERE oid = CAST('region' AS regclass)"
        regions = session.execute(text("SELECT count(*) FROM region")).scalar_one()
        assert session.execute(text(counted)).scalar_one() == regions > 1000


@pytest.fixture
def refuse_a_grid(session):
    """A trigger refusing the grid named 拒绝: a refusal only the database knows of."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "CREATE FUNCTION refuse_grid() RETURNS trigger AS $$ BEGIN "
                "IF NEW.name = '拒绝' THEN RAISE EXCEPTION 'refused' USING ERRCODE = '23514'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER refuse_grid BEFORE INSERT ON region "
                "FOR EACH ROW EXECUTE FUNCTION refuse_grid()"
            )
        )
        drop = ["DROP TRIGGER refuse_grid ON region", "DROP FUNCTION refuse_grid()"]
    else:
        session.execute(
            text(
                "CREATE TRIGGER refuse_grid BEFORE INSERT ON region WHEN NEW.name = '拒绝' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
        drop = ["DROP TRIGGER refuse_grid"]
    session.commit()
    yield
    session.rollback()
    for statement in drop:
        session.execute(text(statement))
    session.commit()


def test_a_batch_the_database_refuses_is_imported_again_row_by_row(session, refuse_a_grid):
    run(session, xlsx({"regions": GOOD["regions"][:2]}))  # the district exists beforehand
    session.flush()
    before = counts(session)
    regions = [*GOOD["regions"], ["G3", "拒绝", "grid", "C"], ["G4", "网格四", "grid", "NOPE"]]
    result = run(session, xlsx({**GOOD, "regions": regions}))
    # Both bad rows are reported, as the row-by-row import reports them (a refused insert
    # is taken for a code in use), and nothing at all is written.
    assert [(r["sheet"], r["row"]) for r in result["rejected"]] == [
        ("regions", 7),
        ("regions", 8),
    ]
    assert result["rejected"][0]["error"] == "区域 G3 已存在 / region G3 already exists"
    assert "community" in result["rejected"][1]["error"]
    assert counts(session) == before
    assert sum(result["created"].values()) == 0 and "passwords" not in result


def test_a_nul_character_is_refused_by_postgresql_alone(session):
    regions = [*GOOD["regions"], ["G3", "网格\x00三", "grid", "C"]]
    result = run(session, csv_bytes(regions), "regions.csv")  # XLSX cannot hold a NUL
    if session.get_bind().dialect.name == "postgresql":
        [rejected] = result["rejected"]
        assert (rejected["sheet"], rejected["row"]) == ("regions", 7)
        assert "空字符" in rejected["error"] and "NUL" in rejected["error"]
        assert counts(session) == dict.fromkeys(counts(session), 0)
    else:
        assert result["rejected"] == [] and result["created"]["regions"] == 6
        assert session.get(Region, "G3").name == "网格\x00三"  # type: ignore[union-attr]
