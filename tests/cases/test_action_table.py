"""The action table (closeloop/cases/actions.py) drives everything: the machine's graph, who may
act, the preconditions, the requirements and the API documentation. Changing one definition is
enough to change what `allowed_actions`, `perform` and the docs say, which is what lets a rule
of one action be an edit in one place (the expectations of DESIGN.md itself are in
test_lifecycle_table.py, written independently of the code)."""

from dataclasses import replace

import pytest
from sqlmodel import Session

from closeloop.cases import actions, lifecycle
from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid
from closeloop.text import Msg
from models.enums import Action, CaseKind, CaseState
from tests.factories import NOW, Org, act, case_in


@pytest.mark.parametrize("kind", list(CaseKind))
@pytest.mark.parametrize("state", list(CaseState))
def test_the_machine_allows_what_the_table_says(kind: CaseKind, state: CaseState) -> None:
    expected = {
        d.action.value for d in actions.TABLE.values() if state in d.sources and kind in d.kinds
    }
    assert set(lifecycle.actions_in(state, kind)) == expected


def test_every_action_has_one_definition() -> None:
    assert set(actions.TABLE) == set(Action)
    assert all(d.action == a for a, d in actions.TABLE.items())
    for a in Action:
        assert f"`{a.value}`" in lifecycle.describe(a)


def test_a_new_requirement_is_one_edit_in_the_definition(
    session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = actions.TABLE[Action.return_]
    monkeypatch.setitem(
        actions.TABLE, Action.return_, replace(d, needs=replace(d.needs, days=True))
    )
    case = case_in(session, org, CaseState.dispatched)
    with pytest.raises(Invalid) as e:
        act(session, org, case, "return", "h_zj", reason="不属于本单位")
    assert "退单需要填写延期天数" in e.value.detail and "Returning a case" in e.value.detail
    assert "days" in lifecycle.describe(Action.return_)
    act(session, org, case, "return", "h_zj", reason="不属于本单位", days=1)
    assert case.state == CaseState.reported


def test_who_and_the_precondition_come_from_the_definition(
    session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_in(session, org, CaseState.dispatched)
    d = actions.TABLE[Action.sign]
    assert "sign" in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    monkeypatch.setitem(
        actions.TABLE, Action.sign, replace(d, who=actions.anyone_of(actions.LEADER))
    )
    assert "sign" not in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    assert "sign" in cases.public_one(session, case, org["sup"], NOW).allowed_actions
    with pytest.raises(Forbidden):
        act(session, org, case, "sign", "h_zj")
    monkeypatch.setitem(
        actions.TABLE,
        Action.sign,
        replace(d, precondition=lambda c, p, now, s: Msg("不行", "not now")),
    )
    assert "sign" not in cases.public_one(session, case, org["h_zj"], NOW).allowed_actions
    with pytest.raises(Conflict) as e:
        act(session, org, case, "sign", "h_zj")
    assert "not now" in e.value.detail
    assert case.state == CaseState.dispatched


def test_a_refusal_for_the_state_lists_what_allowed_actions_lists(
    session: Session, org: Org
) -> None:
    case = case_in(session, org, CaseState.rectifying)
    allowed = cases.public_one(session, case, org["sup"], NOW).allowed_actions
    with pytest.raises(Conflict) as e:
        act(session, org, case, "dispatch", "sup", unit_code="ZJ")
    assert e.value.extra["allowed_actions"] == allowed
