"""A dispatch's input check reads the case's category and the unit (named, or else the
category's default) in one statement (`lookup.category_and_unit`), or finds them in the session
when the action's own read of the case put them there (`lookup.case_to_act_on`): the same
objects as two `session.get`s, for every combination. Filing reads its item with the item's
class (`lookup.leaf_category`)."""

import pytest
from sqlalchemy import event
from sqlmodel import Session

from closeloop.cases.lookup import case_to_act_on, category_and_unit, leaf_category
from closeloop.errors import Invalid
from models.org import Category, Unit
from tests.factories import Org, new_case


def _plain(session: Session, category_code: str | None, unit_code: str | None):  # type: ignore[no-untyped-def]
    category = session.get(Category, category_code) if category_code else None
    code = unit_code or (category.unit_code if category else None)
    return category, session.get(Unit, code) if code else None


def test_the_one_statement_finds_what_two_gets_find(session: Session, org: Org) -> None:
    session.add(Category(code="0199", name="无默认单位", parent_code="01"))
    session.flush()
    cases = [
        ("0101", None),  # the category's default unit (ZJ)
        ("0101", "SW"),  # another unit named
        ("0101", "NOPE"),  # a unit that does not exist
        ("0199", None),  # a category naming no unit
        ("0199", "ZJ"),
        ("01", None),  # a class
        (None, "SW"),  # no category
        (None, None),
        ("GONE", "ZJ"),  # no such category
    ]
    for category_code, unit_code in cases:
        got = category_and_unit(session, category_code, unit_code)
        want = _plain(session, category_code, unit_code)
        assert got == want, (category_code, unit_code)
        assert all(a is b for a, b in zip(got, want, strict=True)), (category_code, unit_code)
    category, unit = category_and_unit(session, "0101", None)
    assert category is not None and unit is not None and unit.code == category.unit_code == "ZJ"


def _selects(session: Session):  # type: ignore[no-untyped-def]
    """Record the SELECTs run on the session's engine until the context ends."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("unit_code", [None, "SW", "NOPE"])
def test_an_actions_read_of_its_case_brings_its_category_and_unit(
    engine, org: Org, unit_code: str | None
) -> None:
    """After case_to_act_on, category_and_unit answers from the session (no statement) with the
    objects two gets would find; a unit code naming nothing is still read (and found missing)."""
    with Session(engine) as s:
        case_id = new_case(s, org).id
        s.commit()
    with Session(engine) as s:
        case, _ = case_to_act_on(s, actor=org["disp"], case_id=case_id, unit_code=unit_code)
        statements, stop = _selects(s)
        try:
            got = category_and_unit(s, case.category_code, unit_code)
        finally:
            stop()
        assert len(statements) == (1 if unit_code == "NOPE" else 0), statements
        want = _plain(s, case.category_code, unit_code)
        assert all(a is b for a, b in zip(got, want, strict=True))
        assert got[0] is not None and (got[1] is None) == (unit_code == "NOPE")


def test_an_item_is_read_with_its_class(session: Session, org: Org) -> None:
    """`leaf_category` reads the item and its class in one statement: the class is then in the
    session (the active and emergency checks read it with no statement); the refusals stay."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        item = leaf_category(session, "0101")
        parent = session.get(Category, item.parent_code)
        again = session.get(Category, "0101")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, statements
    assert parent is not None and parent.code == "01" and again is item
    with pytest.raises(Invalid, match="does not exist"):
        leaf_category(session, "GONE")
    with pytest.raises(Invalid, match="is a class"):
        leaf_category(session, "01")
