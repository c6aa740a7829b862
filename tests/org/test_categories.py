"""closeloop/org/categories.py: changing and deactivating categories."""

import pytest

from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.org import service as org_service
from models.enums import CaseState
from models.org import CategoryCreate, CategoryUpdate, UnitCreate, UnitUpdate
from tests.factories import case_in, new_case


def test_update_category(session, org):  # type: ignore[no-untyped-def]
    c = org_service.update_category(
        session, code="0101", data=CategoryUpdate(name="占道", limit_days=7, unit_code="SW")
    )
    assert (c.name, c.limit_days, c.unit_code, c.parent_code) == ("占道", 7, "SW", "01")
    c = org_service.update_category(session, code="0101", data=CategoryUpdate(parent_code="02"))
    assert c.parent_code == "02"
    with pytest.raises(NotFound):
        org_service.update_category(session, code="NOPE", data=CategoryUpdate(name="x"))


def test_the_two_levels_hold(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="two levels"):
        org_service.update_category(session, code="0102", data=CategoryUpdate(parent_code="0101"))
    with pytest.raises(Conflict, match="items"):
        org_service.update_category(session, code="01", data=CategoryUpdate(parent_code="02"))
    with pytest.raises(Invalid, match="unit_code"):
        org_service.update_category(session, code="0101", data=CategoryUpdate(unit_code=None))
    with pytest.raises(Invalid, match="does not exist"):
        org_service.update_category(session, code="0101", data=CategoryUpdate(unit_code="NOPE"))


def test_an_items_unit_must_be_active(session, org):  # type: ignore[no-untyped-def]
    org_service.create_unit(session, data=UnitCreate(code="OLD", name="旧单位", short_name="旧"))
    org_service.update_unit(session, code="OLD", data=UnitUpdate(active=False))
    with pytest.raises(Invalid, match="inactive"):
        org_service.update_category(session, code="0101", data=CategoryUpdate(unit_code="OLD"))
    with pytest.raises(Invalid, match="inactive"):
        org_service.create_category(
            session,
            data=CategoryCreate(
                code="0109", name="x", parent_code="01", unit_code="OLD", limit_days=3
            ),
        )


def test_an_inactive_category_takes_no_new_case_but_open_ones_keep_it(session, org):  # type: ignore[no-untyped-def]
    case = case_in(session, org, CaseState.rectifying)
    org_service.update_category(session, code="0101", data=CategoryUpdate(active=False))
    assert case.category_code == "0101"
    with pytest.raises(Invalid, match="category_code"):
        new_case(session, org, category="0101")
    org_service.update_category(session, code="0101", data=CategoryUpdate(active=True))
    org_service.update_category(session, code="01", data=CategoryUpdate(active=False))
    with pytest.raises(Invalid, match="category_code: category 01"):
        new_case(session, org, category="0102")
    assert new_case(session, org, category="0201").state == CaseState.reported


def test_category_usage(session, org):  # type: ignore[no-untyped-def]
    case_in(session, org, CaseState.closed)
    new_case(session, org)
    assert org_service.category_usage(session)["0101"] == {"cases": 2, "open_cases": 1}
