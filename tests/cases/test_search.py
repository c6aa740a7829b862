"""closeloop/cases/search.py: the case list's filters, date ranges, order and refusals."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func

from closeloop.cases import search
from closeloop.cases import service as cases
from closeloop.cases.search import CaseFilter
from closeloop.errors import Invalid
from models.enums import CaseKind, CaseState, Grade
from tests.cases.test_reads import selects
from tests.factories import NOW, act, case_in, new_case

# 00:30 on 30 September in Shanghai is still the 29th in UTC.
JUST_AFTER_MIDNIGHT = datetime(2025, 9, 29, 16, 30, tzinfo=UTC)


@pytest.fixture
def world(session, org):
    """Four cases across streets, categories, kinds and states."""
    a = new_case(session, org, grid="G1", category="0101", now=NOW - timedelta(days=6))
    act(session, org, a, "dispatch", "disp", NOW - timedelta(days=6), unit_code="ZJ", limit_days=1)
    b = new_case(session, org, by="rep3", grid="G3", category="0102", now=JUST_AFTER_MIDNIGHT)
    c = new_case(
        session,
        org,
        kind=CaseKind.hazard,
        grade=Grade.major,
        grid="G2",
        category="0201",
        now=NOW - timedelta(days=3),
    )
    act(session, org, c, "dispatch", "disp", NOW - timedelta(days=2), unit_code="ZJ")
    d = case_in(session, org, CaseState.closed, now=NOW - timedelta(days=1))
    d.urgent = True
    session.commit()
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id}


def ids(session, org, user="disp", **filters):
    page = cases.list_cases(
        session, actor=org[user], filters=CaseFilter(**filters), page=1, page_size=50, now=NOW
    )
    assert page.total == len(page.items)
    return [c.id for c in page.items]


def names(world, found):
    by_id = {v: k for k, v in world.items()}
    return [by_id[i] for i in found]


def test_each_place_filter_narrows_by_the_region_path(session, org, world):
    assert sorted(names(world, ids(session, org, street_code="S1"))) == ["a", "c", "d"]
    assert names(world, ids(session, org, street_code="S2")) == ["b"]
    assert sorted(names(world, ids(session, org, community_code="C1"))) == ["a", "c", "d"]
    assert names(world, ids(session, org, grid_code="G2")) == ["c"]
    assert sorted(names(world, ids(session, org, grid_code="G1"))) == ["a", "d"]


@pytest.mark.parametrize(
    ("field", "code"),
    [("street_code", "C1"), ("community_code", "S1"), ("grid_code", "C1"), ("street_code", "XX")],
)
def test_a_place_of_the_wrong_level_is_refused_naming_the_field(session, org, world, field, code):
    with pytest.raises(Invalid) as e:
        ids(session, org, **{field: code})
    assert field in e.value.msg.en and field in e.value.msg.zh


def test_unit_category_kind_grade_listed_urgent(session, org, world):
    assert sorted(names(world, ids(session, org, unit_code="ZJ"))) == ["a", "c", "d"]
    assert names(world, ids(session, org, unit_code="SW")) == []
    assert names(world, ids(session, org, category_code="0102")) == ["b"]
    # A class matches its items.
    assert sorted(names(world, ids(session, org, category_code="01"))) == ["a", "b", "d"]
    assert names(world, ids(session, org, category_code="02")) == ["c"]
    assert names(world, ids(session, org, kind=CaseKind.hazard)) == ["c"]
    assert names(world, ids(session, org, grade=Grade.major)) == ["c"]
    assert names(world, ids(session, org, listed=True)) == ["c"]
    assert "c" not in names(world, ids(session, org, listed=False))
    assert names(world, ids(session, org, urgent=True)) == ["d"]
    assert "d" not in names(world, ids(session, org, urgent=False))
    for bad in ({"unit_code": "NOPE"}, {"category_code": "99"}):
        with pytest.raises(Invalid) as e:
            ids(session, org, **bad)
        assert next(iter(bad)) in e.value.msg.en


def test_one_state_or_several_and_overdue(session, org, world):
    assert names(world, ids(session, org, state=CaseState.reported)) == ["b"]
    both = ids(session, org, state=[CaseState.reported, CaseState.closed])
    assert sorted(names(world, both)) == ["b", "d"]
    assert names(world, ids(session, org, overdue=True)) == ["a"]
    assert "a" not in names(world, ids(session, org, overdue=False))


def test_date_ranges_are_shanghai_days_both_ends_included(session, org, world):
    day = date(2025, 9, 30)  # Shanghai: b was reported at 00:30 that day
    assert names(world, ids(session, org, reported_from=day, reported_to=day)) == ["b"]
    assert "b" not in names(world, ids(session, org, reported_to=day - timedelta(days=1)))
    six_days_ago = date(2025, 9, 24)
    assert names(world, ids(session, org, reported_to=six_days_ago)) == ["a"]
    closed_day = (NOW - timedelta(days=1)).date()
    assert names(world, ids(session, org, closed_from=closed_day, closed_to=closed_day)) == ["d"]
    assert names(world, ids(session, org, closed_to=closed_day - timedelta(days=1))) == []
    a_due = session.get(cases.Case, world["a"]).due_at
    due_day = a_due.astimezone(cases.SHANGHAI).date()
    assert names(world, ids(session, org, due_from=due_day, due_to=due_day)) == ["a"]


@pytest.mark.parametrize("name", ["reported", "due", "closed"])
def test_a_range_ending_before_it_starts_is_refused(session, org, world, name):
    with pytest.raises(Invalid) as e:
        ids(session, org, **{f"{name}_from": date(2025, 9, 2), f"{name}_to": date(2025, 9, 1)})
    assert f"{name}_to" in e.value.msg.en and f"{name}_from" in e.value.msg.zh


def test_sort_by_each_date_either_way_cases_without_it_last(session, org, world):
    assert names(world, ids(session, org)) == ["b", "d", "c", "a"]  # newest first
    assert names(world, ids(session, org, sort="reported_at")) == ["a", "c", "d", "b"]
    assert names(world, ids(session, org, sort="-reported_at")) == ["b", "d", "c", "a"]
    assert names(world, ids(session, org, sort="closed_at"))[0] == "d"
    assert names(world, ids(session, org, sort="-closed_at"))[0] == "d"
    by_dispatch = names(world, ids(session, org, sort="dispatched_at"))
    assert by_dispatch[:3] == ["a", "c", "d"] and by_dispatch[-1] == "b"
    assert names(world, ids(session, org, sort="-dispatched_at"))[:3] == ["d", "c", "a"]
    due = names(world, ids(session, org, sort="due_at"))
    assert due[0] == "a" and due[-1] == "b"  # b has no deadline
    assert names(world, ids(session, org, sort="-due_at"))[-1] == "b"


def test_an_unknown_sort_lists_the_allowed(session, org, world):
    with pytest.raises(Invalid) as e:
        ids(session, org, sort="title")
    for allowed in ("reported_at", "-due_at", "closed_at", "dispatched_at"):
        assert allowed in e.value.msg.en


def test_jurisdiction_is_applied_before_the_filters(session, org, world):
    assert names(world, ids(session, org, user="disp_s2")) == ["b"]
    assert names(world, ids(session, org, user="disp_s2", street_code="S1")) == []
    assert names(world, ids(session, org, user="h_sw", category_code="01")) == []
    assert sorted(names(world, ids(session, org, user="rep1", street_code="S1"))) == ["a", "d"]
    assert names(world, ids(session, org, user="sup_s2", state=[CaseState.reported])) == ["b"]


PAGES = [
    ("disp", {}),
    ("disp", {"unit_code": "ZJ"}),
    ("disp", {"unit_code": "SW"}),
    ("disp", {"state": [CaseState.reported, CaseState.closed]}),
    ("disp", {"overdue": True}),
    ("disp", {"category_code": "01", "sort": "-reported_at"}),
    ("disp_s2", {}),
    ("h_sw", {}),
    ("rep1", {"street_code": "S1"}),
]


@pytest.mark.parametrize(("user", "filters"), PAGES)
def test_a_page_and_its_total_in_one_statement_are_the_plain_count_and_page(
    engine, session, org, world, user, filters
):
    """find_page reads the page with the list's count beside it (one statement); the same
    total and rows as the plain count and the plain ordered page, on every page size and
    page, a page past the end included (its total asked on its own)."""
    f = CaseFilter(**filters)
    stmt, order = search.search(session, actor=org[user], filters=f, now=NOW)
    conn = session.connection()
    plain_total = conn.execute(
        stmt.with_only_columns(func.count(), maintain_column_froms=True)
    ).scalar_one()
    plain = [r.id for r in conn.execute(stmt.order_by(*order))]
    for size in (1, 2, 50):
        for page in range(1, len(plain) // size + 3):
            with selects(engine) as seen:
                rows, total = search.find_page(
                    session, actor=org[user], filters=f, page=page, page_size=size, now=NOW
                )
            assert total == plain_total
            assert [r.id for r in rows] == plain[(page - 1) * size : page * size]
            past_the_end = not rows and page > 1
            checks_unit = not total and "unit_code" in filters  # may be in the session already
            assert 1 + past_the_end <= len(seen) <= 1 + past_the_end + checks_unit


def test_a_list_by_unit_checks_the_unit_only_when_nothing_matched(engine, session, org, world):
    """A unit on some case exists (a foreign key): its list is one statement; a unit without
    cases answers an empty list after looking it up, one that does not exist is refused."""
    for code, expected in (("ZJ", 1), ("SW", 2)):
        session.expunge_all()  # the unit, when looked up, is read from the database
        with selects(engine) as seen:
            ids(session, org, unit_code=code)
        assert len(seen) == expected, code
    with pytest.raises(Invalid) as e:
        ids(session, org, unit_code="NOPE")
    assert e.value.msg.en == "unit_code 'NOPE' does not exist"
