"""Named counters that never skip or repeat, safe when many writers draw at once."""

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from models.case import Case
from models.enums import CaseKind
from models.system import Counter

CASE_PREFIX = {CaseKind.event: "SJ", CaseKind.hazard: "YH", CaseKind.letter: "DB"}


def next_value(session: Session, name: str) -> int:
    """Increment counter `name` (creating it at 1) and return the new value, in one statement
    that takes the row lock until the transaction ends."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Counter.__table__  # type: ignore[attr-defined]
    stmt = (
        insert(table)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return int(session.execute(stmt).scalar_one())


def next_case_number(session: Session, kind: CaseKind, year: int) -> str:
    """SJ2025000123 (event), YH… (hazard), DB… (letter). Skips numbers an import already used."""
    while True:
        value = next_value(session, f"case:{kind}:{year}")
        number = f"{CASE_PREFIX[kind]}{year}{value:06d}"
        taken = session.exec(select(Case.id).where(Case.number == number)).first()
        if taken is None:
            return number
