"""The case's references most cases leave empty are indexed only where given (0014_import): a
look-up by value, as the services and the foreign keys' checks make, still uses each index, and
finds the same rows as reading the table."""

import pytest
from sqlalchemy import text
from sqlmodel import Session

from tests.factories import Org, new_case

COLUMNS = ("reporter_id", "merged_into_id", "enterprise_code", "inspection_id")


def plan(session: Session, column: str) -> str:
    query = f'SELECT id FROM "case" WHERE {column} = :value'
    value = "E1" if column == "enterprise_code" else 1
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))  # an index if one can serve
        rows = session.execute(text(f"EXPLAIN {query}"), {"value": value})
    else:
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {query}"), {"value": value})
    return " ".join(str(cell) for row in rows for cell in row)


@pytest.mark.parametrize("column", COLUMNS)
def test_a_look_up_by_value_uses_the_partial_index(session: Session, org: Org, column: str) -> None:
    assert f"ix_case_{column}" in plan(session, column)


def test_the_partial_index_finds_what_the_table_holds(session: Session, org: Org) -> None:
    filed = [new_case(session, org) for _ in range(4)]
    filed[1].merged_into_id = filed[0].id
    filed[2].merged_into_id = filed[0].id
    session.flush()
    query = text('SELECT id FROM "case" WHERE merged_into_id = :value ORDER BY id')
    by_index = session.execute(query, {"value": filed[0].id}).scalars().all()
    assert by_index == [filed[1].id, filed[2].id]
    assert "ix_case_merged_into_id" in plan(session, "merged_into_id")
