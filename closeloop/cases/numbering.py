"""Named counters that never skip or repeat, safe when many writers draw at once."""

import json
from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from closeloop.db import connection
from models.case import Case
from models.enums import CaseKind
from models.system import Counter

BLOCK = 1000  # numbers reserved and looked up per statement (bound parameters stay few)
CASE_PREFIX = {CaseKind.event: "SJ", CaseKind.hazard: "YH", CaseKind.letter: "DB"}


def next_value(session: Session, name: str) -> int:
    """Increment counter `name` (creating it at 1) and return the new value, in one statement
    that takes the row lock until the transaction ends."""
    return reserve_values(session, name, 1)


def reserve_values(session: Session, name: str, count: int) -> int:
    """Add `count` to counter `name` (creating it at `count`) and return the new value: the
    values last - count + 1 … last are this transaction's. One statement, which takes the row
    lock until the transaction ends, so concurrent reservations never overlap."""
    stmt = _reserve_statement(session.get_bind().dialect.name)
    return int(session.execute(stmt, {"name": name, "count": count}).scalar_one())


@cache
def _reserve_statement(dialect: str) -> Any:
    """The upsert of `reserve_values`, built once (building it costs more than running it)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Counter.__table__  # type: ignore[attr-defined]
    count = bindparam("count", type_=Integer)
    return (
        insert(table)
        .values(name=bindparam("name"), value=count)
        .on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + count})
        .returning(table.c.value)
    )


CASES = Case.__table__  # type: ignore[attr-defined]


@cache
def _taken_statement(dialect: str) -> Any:
    """The ids of the numbers given as ONE parameter (was an IN list, one bound parameter a
    number, rewritten by the driver and planned by the server every block: ~6 us of the
    client's and 5-7 us of the server's per number on PostgreSQL).

    PostgreSQL: each element of a varchar[] looked up by a subquery, the numbers found kept.
    Not `number IN (SELECT unnest(…))`: psycopg prepares a statement run five times, and the
    server kept the plan it made while an import's case table was still small, a hash join
    over a scan of the whole table, for every later block (measured: every look-up of a 30k
    import a scan, 2.2M rows read). A look-up per element is an index probe of
    case_number_key whatever the table's size. SQLite: the numbers as a JSON array
    (json_each), probed in the same index."""
    numbers: Any = bindparam("numbers")
    if dialect == "postgresql":
        given = func.unnest(cast(numbers, postgresql.ARRAY(String)))
        each = given.table_valued("number").render_derived(name="given")
        case_id = select(CASES.c.id).where(CASES.c.number == each.c.number).scalar_subquery()
        # Only the numbers found come back (OFFSET 0: the probe runs once per number, not again
        # for the filter).
        fence: Any = literal_column("0")
        probed = select(each.c.number, case_id.label("id")).offset(fence).subquery("probed")
        return select(probed.c.number, probed.c.id).where(probed.c.id.is_not(None))
    listed = func.json_each(numbers).table_valued("value").c.value
    return select(CASES.c.number, CASES.c.id).where(CASES.c.number.in_(select(listed)))


def taken(session: Session, numbers: Collection[str]) -> dict[str, int]:
    """The ids of the cases that have one of `numbers`, by number, in one statement."""
    if not numbers:
        return {}
    conn = connection(session)
    param: Any = list(numbers)
    if conn.dialect.name != "postgresql":
        param = json.dumps(param)
    found = conn.execute(_taken_statement(conn.dialect.name), {"numbers": param})
    return {number: case_id for number, case_id in found}


def next_case_number(session: Session, kind: CaseKind, year: int) -> str:
    """SJ2025000123 (event), YH… (hazard), DB… (letter). Skips numbers an import already used."""
    return case_numbers(session, kind, year, 1)[0]


def case_numbers(
    session: Session, kind: CaseKind, year: int, count: int, avoid: Collection[str] = ()
) -> list[str]:
    """`count` new case numbers of `kind` and `year`, in counter order, skipping numbers a case
    already has (an imported ledger's own numbers) and those in `avoid` (numbers the caller is
    about to insert). Two statements per block of numbers, whatever `count`: the block is
    reserved at once, then the taken ones are looked up at once; a skipped number is used up,
    as when drawing one at a time."""
    numbers: list[str] = []
    while len(numbers) < count:
        need = min(count - len(numbers), BLOCK)
        last = reserve_values(session, f"case:{kind}:{year}", need)
        block = [
            f"{CASE_PREFIX[kind]}{year}{value:06d}" for value in range(last - need + 1, last + 1)
        ]
        used = taken(session, block)
        numbers += [n for n in block if n not in used and n not in avoid]
    return numbers
