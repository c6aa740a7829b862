"""Reading cases pays for what it shows: a list page and one case's answer load the pending
requests, the dossiers and the open task counts only when the allowed actions of some case on
the page ask for them (closeloop.cases.requests.pending_on_demand), and what they answer is the
same as with every fact loaded up front."""

from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import select

from closeloop.cases import service as cases
from closeloop.cases.request_decisions import none_pending, one_pending
from closeloop.cases.requests import (
    Pending,
    pending_on_demand,
    pending_on_demand_together,
    pending_requests,
    shown_request,
)
from closeloop.cases.search import CaseFilter
from closeloop.db import new_session
from closeloop.errors import DomainError
from closeloop.text import Msg
from models.case import CasePage, CasePublic, CaseRequest
from models.enums import CaseKind, CaseState, Grade, RequestType
from tests.factories import NOW, USERS, act, case_in, new_case, statements


def selects(engine: Engine) -> AbstractContextManager[list[str]]:
    return statements(engine, "SELECT")


def _every_situation(session, org):  # type: ignore[no-untyped-def]
    """Cases in every state and kind, with a pending request, an open assisting task and a
    major hazard both without its plan and with it."""
    for state in CaseState:
        for kind, grade in ((CaseKind.event, None), (CaseKind.hazard, Grade.general)):
            case_in(session, org, state, kind=kind, grade=grade)
    for state in (CaseState.rectifying, CaseState.verifying):
        case_in(session, org, state, kind=CaseKind.hazard, grade=Grade.major)
    unplanned = new_case(session, org, kind=CaseKind.hazard, grade=Grade.major)
    act(session, org, unplanned, "dispatch", "disp", unit_code="ZJ")
    act(session, org, unplanned, "sign", "h_zj")
    asking = case_in(session, org, CaseState.rectifying)
    act(session, org, asking, "request_extension", "h_zj", reason="材料未到", days=2)
    asking = case_in(session, org, CaseState.rectifying)
    act(session, org, asking, "request_suspension", "h_zj", reason="等待配合")
    assisted = new_case(session, org)
    act(session, org, assisted, "dispatch", "disp", unit_code="ZJ", assist_unit_codes=["SW"])
    act(session, org, assisted, "sign", "h_zj")
    session.commit()


def test_the_allowed_actions_are_those_of_every_fact_loaded(session, org):
    _every_situation(session, org)
    acted = 0
    for username, *_ in USERS:
        actor = org[username]
        page = cases.list_cases(
            session, actor=actor, filters=CaseFilter(), page=1, page_size=500, now=NOW
        )
        assert page.items or username in ("rep3", "disp_s2", "sup_s2", "h_sw")
        ids = [c.id for c in page.items]
        full = pending_requests(session, ids)
        for shown in page.items:
            case = cases.load_case(session, actor=actor, case_id=shown.id)
            eager = cases.to_public(case, actor, pending=full[shown.id], now=NOW)
            assert shown.allowed_actions == eager.allowed_actions, (username, case.state)
            one = cases.public_one(session, case, actor, NOW)
            assert one.allowed_actions == eager.allowed_actions, (username, case.state)
            acted += len(eager.allowed_actions)
    assert acted > 50  # not vacuous


def test_a_fact_is_loaded_once_for_the_page_and_only_when_read(engine, session, org):
    _every_situation(session, org)
    ids = [
        c.id
        for c in cases.list_cases(
            session, actor=org["admin"], filters=CaseFilter(), page=1, page_size=500, now=NOW
        ).items
    ]
    session.commit()
    with selects(engine) as seen:
        pending = pending_on_demand(session, ids)
        assert seen == []
        assert any(p.extension is not None for p in pending.values())
        assert any(p.suspension is not None for p in pending.values())
        assert len(seen) == 1  # the requests of every case on the page, in one statement
        assert any(p.open_tasks for p in pending.values())
        assert sum(p.dossier.planned for p in pending.values()) == 2
        assert len(seen) == 4  # then the task counts, then the dossiers (plans, rechecks)
        for p in pending.values():
            p.return_, p.dossier, p.open_tasks  # noqa: B018
        assert len(seen) == 4


def test_a_page_reads_its_requests_and_open_tasks_in_one_statement(engine, session, org):
    """A list page (pending_on_demand_together): the first read of a pending request or of an
    open task count loads both for the whole page in one statement, the same facts as
    pending_requests; the dossiers stay on demand."""
    _every_situation(session, org)
    ids = [
        c.id
        for c in cases.list_cases(
            session, actor=org["admin"], filters=CaseFilter(), page=1, page_size=500, now=NOW
        ).items
    ]
    eager = pending_requests(session, ids)
    session.commit()
    with selects(engine) as seen:
        pending = pending_on_demand_together(session, ids)
        assert seen == []
        assert any(p.open_tasks for p in pending.values())
        assert len(seen) == 1
        for case_id, p in pending.items():
            for kind in ("extension", "suspension", "return_"):
                assert _columns(getattr(p, kind)) == _columns(getattr(eager[case_id], kind))
            assert p.open_tasks == eager[case_id].open_tasks
        assert len(seen) == 1
        assert sum(p.dossier.planned for p in pending.values()) == 2
        assert len(seen) == 3  # the dossiers: plans, rechecks
    assert any(p.extension for p in eager.values()) and any(p.suspension for p in eager.values())


@pytest.mark.parametrize("state", [CaseState.closed, CaseState.cancelled])
def test_reading_a_finished_case_reads_nothing_else(engine, client, auth, org, state):
    with new_session(engine) as s:
        case_id = case_in(s, org, state).id
        s.commit()
    headers = auth("disp")
    with selects(engine) as seen:
        r = client.get(f"/api/v1/cases/{case_id}", headers=headers)
        assert r.status_code == 200, r.text
    assert len(seen) == 2, seen  # who asks (one statement), the case
    with selects(engine) as seen:
        r = client.get("/api/v1/cases", params={"state": state.value}, headers=headers)
        assert r.status_code == 200 and r.json()["total"] == 1
    assert len(seen) == 2, seen  # who asks, the page with the list's count beside it


def _columns(request: CaseRequest | None) -> dict | None:  # type: ignore[type-arg]
    return request and {name: getattr(request, name) for name in CaseRequest.model_fields}


def test_a_case_read_in_one_statement_answers_as_the_loaded_case(engine, session, org):
    """GET /cases/{id} reads the case as a plain row with its pending requests and open task
    count in one statement (lookup.case_read): for every case and every user, the same answer
    or the same refusal as load_case, the facts those of pending_requests (loaded eagerly), and
    nothing more read for the allowed actions (but a major hazard's dossier)."""
    _every_situation(session, org)
    ids = [
        c.id
        for c in cases.list_cases(
            session, actor=org["admin"], filters=CaseFilter(), page=1, page_size=500, now=NOW
        ).items
    ]
    eager = pending_requests(session, ids)
    session.commit()
    shown = 0
    for username, *_ in USERS:
        actor = org[username]
        for case_id in [*ids, max(ids) + 1]:
            try:
                case = cases.load_case(session, actor=actor, case_id=case_id)
            except DomainError as refused:
                with pytest.raises(type(refused)) as again:
                    cases.case_read(session, actor=actor, case_id=case_id)
                assert str(again.value) == str(refused)
                continue
            loaded = cases.public_one(session, case, actor, NOW)
            with selects(engine) as seen:
                row, pending = cases.case_read(session, actor=actor, case_id=case_id)
                answer = cases.to_public(row, actor, pending=pending, now=NOW)
            assert answer == loaded, (username, case.state)
            full = eager[case_id]
            for kind in ("extension", "suspension", "return_"):
                got, want = getattr(pending, kind), getattr(full, kind)
                assert _columns(got) == _columns(want), kind
            assert pending.open_tasks == full.open_tasks
            major = case.grade == Grade.major and case.kind == CaseKind.hazard
            assisting = actor.unit_code not in (None, case.unit_code)  # its task: asked apart
            assert len(seen) == 1 + assisting or major, seen
            shown += 1
    assert shown > 80  # not vacuous
    assert any(p.extension for p in eager.values()) and any(p.open_tasks for p in eager.values())


def test_the_answers_are_the_validated_models_serialised(engine, client, auth, org):
    """The two reads answer from their own thread (api/deps.read_as_user) with the response
    model serialised there: the bytes are those of the model validated from the service's
    answer, as FastAPI's response_model gives them, for cases in every state, to a supervisor
    and a handler."""
    with new_session(engine) as s:
        _every_situation(s, org)
    for username in ("sup", "h_zj"):
        actor = org[username]
        r = client.get("/api/v1/cases", params={"page_size": 500}, headers=auth(username))
        assert r.status_code == 200, r.text
        with new_session(engine) as s:
            page = cases.list_cases(
                s, actor=actor, filters=CaseFilter(), page=1, page_size=500, now=NOW
            )
            assert (
                r.content == CasePage.model_validate(page.model_dump()).model_dump_json().encode()
            )
            # Every state (a handler's unit: every state after dispatch but cancelled).
            assert {c.state for c in page.items} == set(CaseState) - (
                set() if username == "sup" else {CaseState.reported, CaseState.cancelled}
            )
            for item in page.items:
                one = client.get(f"/api/v1/cases/{item.id}", headers=auth(username))
                assert one.status_code == 200, one.text
                case = cases.load_case(s, actor=actor, case_id=item.id)
                expected = CasePublic.model_validate(
                    cases.public_one(s, case, actor, NOW).model_dump()
                )
                assert one.content == expected.model_dump_json().encode()


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ({"state": "rectifying"}, CaseFilter(state=CaseState.rectifying)),
        ({"unit_code": "ZJ"}, CaseFilter(unit_code="ZJ")),
        ({"state": ["verifying", "suspended"]}, CaseFilter(state=["verifying", "suspended"])),  # type: ignore[list-item]
    ],
)
def test_a_filtered_list_answers_the_validated_model_serialised(
    engine, client, auth, org, query, filters
):
    """The filtered lists (state, unit; a supervisor's and a handler's) answer the same bytes as
    the response model validated from the service's answer, with pending requests and open
    assisting tasks on the page."""
    with new_session(engine) as s:
        _every_situation(s, org)
    for username in ("sup", "h_zj"):
        r = client.get("/api/v1/cases", params={**query, "page_size": 500}, headers=auth(username))
        assert r.status_code == 200, r.text
        with new_session(engine) as s:
            page = cases.list_cases(
                s, actor=org[username], filters=filters, page=1, page_size=500, now=NOW
            )
        assert page.items  # not vacuous
        assert r.content == CasePage.model_validate(page.model_dump()).model_dump_json().encode()


def test_the_request_preconditions_refuse_as_before():
    """none_pending / one_pending (their refusal built once, the attribute read directly, the
    return request's too): None or the same message as they formatted for every call."""
    names = {
        RequestType.extension: ("延期", "an extension"),
        RequestType.suspension: ("挂起", "a suspension"),
        RequestType.return_: ("退单", "a return"),
    }
    request = CaseRequest(case_id=1, type="extension", status="pending", reason="r", requested_by=1)
    for kind, (zh, en) in names.items():
        asked, empty = Pending(), Pending()
        setattr(asked, kind.value, request)  # by the type's value, as the loaders set it
        none, one = none_pending(kind), one_pending(kind)
        assert none(None, empty, NOW, None) is None  # type: ignore[arg-type]
        assert none(None, asked, NOW, None) == Msg(
            f"已有待审批的{zh}申请", f"{en} request is already pending"
        )  # type: ignore[arg-type]
        assert one(None, asked, NOW, None) is None  # type: ignore[arg-type]
        assert one(None, empty, NOW, None) == Msg(  # type: ignore[arg-type]
            f"没有待审批的{zh}申请", f"there is no pending {en.split()[-1]} request"
        )


def test_a_page_sees_the_requests_its_session_has_not_flushed(session, org):
    """The page's requests are read on the session's connection after what the ORM's own query
    would have flushed first: a request added in this session and not yet flushed is seen."""
    case = case_in(session, org, CaseState.rectifying)
    session.commit()
    assert case.id is not None
    session.add(
        CaseRequest(
            case_id=case.id,
            type="extension",
            status="pending",
            days=2,
            reason="材料未到",
            requested_by=org["h_zj"].id,
            requested_at=NOW,
        )
    )
    pending = pending_on_demand_together(session, [case.id])
    assert pending[case.id].extension is not None
    assert pending[case.id].extension.days == 2  # type: ignore[union-attr]


def test_a_request_read_to_be_shown_is_the_loaded_one(session, org):
    """requests.shown_request (a page's and a case read's pending requests, built as the ORM
    builds a loaded row) reads as the request loaded by the ORM and as the model built from
    the same columns, and belongs to no session."""
    case = case_in(session, org, CaseState.rectifying)
    act(session, org, case, "request_extension", "h_zj", reason="材料未到", days=2)
    session.commit()
    loaded = session.exec(select(CaseRequest).where(CaseRequest.case_id == case.id)).one()
    columns = {name: getattr(loaded, name) for name in CaseRequest.model_fields}
    shown = shown_request(columns)
    assert _columns(shown) == _columns(loaded) == _columns(CaseRequest(**columns))
    # A table model keeps the column's str in its enum-typed fields (String columns, no
    # validation on load): dumping it says so in a warning, the values compared are the same.
    assert shown.model_dump(warnings=False) == CaseRequest(**columns).model_dump(warnings=False)
    assert inspect(shown).transient
