"""A list page's JSON built straight from its rows (closeloop/cases/page_json.py) is, byte for
byte, the CasePage of service.list_cases serialised by pydantic — as FastAPI's response model
gives it and as the model validated again gives it — for cases in every state, of every kind
(a letter case and a major hazard among them), to every user, with the values a model might
render differently (a location, whole-number coordinates, microseconds, a time before China's
last daylight saving time, characters JSON escapes, every optional column given)."""

from datetime import UTC, datetime

from pydantic import TypeAdapter
from sqlalchemy import update
from sqlmodel import select

from closeloop.cases import page_json
from closeloop.cases import service as cases
from closeloop.cases.search import CaseFilter
from models.case import Case, CasePage
from models.enums import CaseKind, CaseState, Grade
from tests.cases.test_reads import _every_situation
from tests.factories import NOW, USERS, case_in

PAGE = TypeAdapter(CasePage)
TITLES = ['引号"反斜杠\\斜杠/', "控制\x01\x1f\x7f字符", "行分隔\u2028段分隔\u2029", "表情😀é\t\n\r"]


def _odd_values(session, org) -> None:  # type: ignore[no-untyped-def]
    """Letter cases in every state; columns the factories leave empty, given; odd values."""
    for state in CaseState:
        letter = case_in(session, org, state)
        session.execute(update(Case).where(Case.id == letter.id).values(kind=CaseKind.letter))
    ids = list(session.exec(select(Case.id).order_by(Case.id)))
    first = ids[0]
    for i, case_id in enumerate(ids):
        values: dict = {"title": TITLES[i % len(TITLES)]}  # type: ignore[type-arg]
        if i % 3 == 0:
            values.update(lat=22.543096 + i * 1e-7, lon=114.1 if i % 2 else 114)
        if i % 4 == 1:
            values.update(
                reported_at=datetime(1988, 6, 1, 3, 4, 5, 123456, tzinfo=UTC),  # +09:00 then
                due_at=datetime(2025, 10, 9, 15, 59, 59, 999999, tzinfo=UTC),
                urgent=True,
                listed=True,
                due_estimated=True,
                rework_count=3,
                deadline_version=7,
                merged_into_id=first,
                grade=Grade.major if i % 8 == 1 else Grade.general,
            )
        session.execute(update(Case).where(Case.id == case_id).values(**values))
    session.commit()


def test_the_page_json_is_the_models_serialised(session, org):
    _every_situation(session, org)
    _odd_values(session, org)
    compared = set()
    for username, *_ in USERS:
        actor = org[username]
        for filters in (CaseFilter(), CaseFilter(state=CaseState.rectifying)):
            for page, size in ((1, 500), (1, 7), (2, 7), (99, 7)):
                built = page_json.list_page_json(
                    session, actor=actor, filters=filters, page=page, page_size=size, now=NOW
                )
                listed = cases.list_cases(
                    session, actor=actor, filters=filters, page=page, page_size=size, now=NOW
                )
                assert built == PAGE.dump_json(listed), (username, filters, page)
                again = CasePage.model_validate(listed.model_dump())
                assert built == again.model_dump_json().encode(), (username, filters, page)
                compared |= {(c.state, c.kind, c.grade, username) for c in listed.items}
    states = {(state, kind) for state, kind, _, _ in compared}
    assert states == {(s, k) for s in CaseState for k in CaseKind}  # every state of every kind
    assert {g for _, _, g, _ in compared} == {None, Grade.general, Grade.major}
    # Every user who sees a case (the others' pages are empty, compared too).
    blind = {"rep3", "disp_s2", "sup_s2", "h_sw"}
    assert {u for *_, u in compared} == {u for u, *_ in USERS} - blind
