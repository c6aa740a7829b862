"""Named counters that never skip or repeat, safe when many writers draw at once."""

import json
from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

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
    """The cases having one of the numbers given as ONE parameter (was an IN list, one bound
    parameter a number): PostgreSQL joins the rows of a varchar[] (`IN (SELECT unnest(…))`:
    look-ups in case_number_key or a hash join, never a scan comparing each row with every
    element, as `= ANY(array)` was planned); SQLite reads a JSON array (json_each). An IN list
    of ~1,000 parameters was rewritten by the driver and planned by the server every block:
    ~6 us of the client's and 5-7 us of the server's per number on PostgreSQL."""
    numbers = bindparam("numbers")
    if dialect == "postgresql":
        given: Any = func.unnest(cast(numbers, postgresql.ARRAY(String)))
    else:
        given = func.json_each(numbers).table_valued("value").c.value
    return select(CASES.c.number, CASES.c.id).where(CASES.c.number.in_(select(given)))


def taken(session: Session, numbers: Collection[str]) -> dict[str, int]:
    """The ids of the cases that have one of `numbers`, by number, in one statement."""
    if not numbers:
        return {}
    connection = session.connection()
    param: Any = list(numbers)
    if connection.dialect.name != "postgresql":
        param = json.dumps(param)
    found = connection.execute(_taken_statement(connection.dialect.name), {"numbers": param})
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
