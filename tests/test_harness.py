"""The test harness itself: what one test leaves, the next does not see. On PostgreSQL the
wipe is skipped when the last test committed nothing — so anything committed must be noticed."""

import pytest
from sqlalchemy import text

from closeloop.db import new_session
from tests.conftest import _LEFT, _fingerprint, _key, _left_as, _wipe
from tests.factories import build_org, new_case


def test_a_wipe_empties_every_table_and_restarts_the_ids(engine, org):
    with engine.connect() as conn:
        first = conn.execute(text('SELECT min(id) FROM "user"')).scalar_one()
    with new_session(engine) as s:
        new_case(s, org)
        s.commit()
    _wipe(engine)
    with engine.connect() as conn:
        for table in ("user", "unit", "case", "case_history"):
            assert conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() == 0
    with new_session(engine) as s:
        build_org(s)
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(text('SELECT min(id) FROM "user"')).scalar_one() == first


def _holiday(engine, day: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO calendar_override (day, workday, note, created_at)"
                " VALUES (:day, false, '', CURRENT_TIMESTAMP)"
            ),
            {"day": day},
        )


def _record(engine) -> None:
    _LEFT[_key(engine)] = ("org", _fingerprint(engine))


# The skip is PostgreSQL's (SQLite is wiped before every test).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_district_is_kept_only_while_nothing_was_committed(engine, org):
    assert _left_as(engine, "org") and not _left_as(engine, "empty")

    # A case filed and rolled back leaves no row, but its id was drawn: the ids are put back.
    with new_session(engine) as s:
        before = new_case(s, org).id
        s.rollback()
    assert _left_as(engine, "org")
    with new_session(engine) as s:
        assert new_case(s, org).id == before
        s.rollback()

    # A committed update changes no count: the row's new version is noticed.
    with engine.begin() as conn:
        conn.execute(text("UPDATE \"user\" SET display_name = 'x' WHERE username = 'sup'"))
    assert not _left_as(engine, "org")
    _record(engine)

    # A row deleted and another inserted in the same table: the count is the same.
    _holiday(engine, "2025-10-08")
    _record(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM calendar_override"))
    _holiday(engine, "2025-10-09")
    assert not _left_as(engine, "org")
    _record(engine)
    with engine.begin() as conn:  # and a row deleted alone
        conn.execute(text("DELETE FROM calendar_override"))
    assert not _left_as(engine, "org")
    _record(engine)

    # The planner's statistics changed (an ANALYZE, as autovacuum may run one at any time).
    with engine.begin() as conn:
        conn.execute(text('ANALYZE "user"'))
    assert not _left_as(engine, "org")
