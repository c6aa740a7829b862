"""closeloop/cases/lookup.py and views.py: what the pages show, assembled by the core."""

import pytest

from closeloop.cases import lookup, views
from closeloop.errors import Forbidden
from models.enums import Action, CaseKind
from tests.factories import NOW, case_in, new_case


def test_a_case_is_found_by_its_exact_number_within_jurisdiction(session, org):
    case = new_case(session, org)
    session.commit()
    found = lookup.case_by_number(session, actor=org["disp"], number=f" {case.number} ")
    assert found is not None and found.id == case.id
    assert lookup.case_by_number(session, actor=org["disp"], number=case.number[:-1]) is None
    assert lookup.case_by_number(session, actor=org["h_sw"], number=case.number) is None


def test_the_filing_form_offers_the_kinds_the_role_may_file(session, org):
    assert views.filing_form(session, actor=org["rep1"]).kinds == [CaseKind.event]
    desk = views.filing_form(session, actor=org["disp"])
    assert desk.kinds == [CaseKind.event, CaseKind.hazard]
    assert desk.grids and all(i.parent_code for i in desk.items)
    assert desk.class_of(desk.items[0].code) == desk.items[0].parent_code
    with pytest.raises(Forbidden):
        views.filing_form(session, actor=org["h_zj"])


def test_the_case_view_and_the_queues(session, org):
    case = new_case(session, org)
    verifying = case_in(session, org, "verifying")
    session.commit()
    view = views.case_view(session, actor=org["disp"], case_id=case.id, now=NOW)
    assert view.case.id == case.id and Action.dispatch in view.case.allowed_actions
    assert [s.action for s in view.steps] == ["file"]
    queue = views.dispatch_queue(session, actor=org["disp"], now=NOW)
    assert [c.id for c in queue.new] == [case.id]
    assert [c.id for c in queue.to_verify] == [verifying.id]
    with pytest.raises(Forbidden):
        views.dispatch_queue(session, actor=org["h_zj"], now=NOW)
    with pytest.raises(Forbidden):
        views.worklist(session, actor=org["disp"], now=NOW)
