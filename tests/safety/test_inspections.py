from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from closeloop.errors import Conflict, Forbidden, Invalid
from closeloop.safety import checklists, inspection_figures, inspection_reads, inspections
from models.case import Case
from models.enums import CaseKind, EnterpriseKind
from models.inspection import (
    ChecklistCreate,
    ChecklistItemIn,
    ChecklistUpdate,
    Inspection,
    InspectionCreate,
    InspectionItem,
)
from models.org import Category
from tests.factories import NOW, build_org
from tests.safety.factories import checklist, enterprise


def body(enterprise_code: str = "E1", results: dict[str, str] | None = None, **kw: object):
    results = results or {"A1": "pass", "A2": "fail", "A3": "na"}
    return InspectionCreate.model_validate(
        {
            "enterprise_code": enterprise_code,
            "checklist_code": "CL1",
            "at": (NOW - timedelta(hours=1)).isoformat(),
            "unannounced": True,
            "items": [
                {"item_code": c, "result": r, "note": f"记录{c}"} for c, r in results.items()
            ],
            **kw,
        }
    )


@pytest.fixture
def setup(session: Session):
    o = build_org(session)
    enterprise(session, "E1", name="湖贝五金厂")
    enterprise(session, "P1", kind=EnterpriseKind.place, industry="人员密集场所")
    enterprise(session, "E3", grid="G3", industry="燃气")
    checklist(session)
    return o


def test_failed_items_become_hazards_with_enterprise_grid_and_item(session, setup) -> None:
    o = setup
    data = body(results={"A1": "fail", "A2": "fail", "A3": "pass"})
    row = inspections.record_inspection(session, actor=o["disp"], data=data, now=NOW)
    assert row.hazards_found == 2 and row.unannounced
    assert (row.grid_code, row.street_code, row.industry) == ("G1", "S1", "工贸")
    shown = inspection_reads.get_inspection(session, actor=o["sup"], inspection_id=row.id)
    assert len(shown.hazard_case_ids) == 2
    by_item = {i.item_code: i for i in shown.items or []}
    assert by_item["A3"].case_id is None and by_item["A3"].text == "员工安全培训"
    first = session.get(Case, by_item["A1"].case_id)
    second = session.get(Case, by_item["A2"].case_id)
    assert first is not None and second is not None
    assert first.kind == CaseKind.hazard and first.grade == "general"
    assert (first.enterprise_code, first.grid_code, first.inspection_id) == ("E1", "G1", row.id)
    assert first.category_code == "0201"  # the set's category
    assert second.category_code == "0101"  # the item's own
    assert first.title == "湖贝五金厂：安全出口畅通"
    assert "GB 50016 第 5.5 条" in first.description and "记录A1" in first.description
    assert by_item["A1"].case_number == first.number


def test_all_or_nothing_when_a_hazard_cannot_be_filed(session, setup) -> None:
    o = setup
    category = session.get(Category, "0101")
    category.active = False  # A2's category, deactivated after the set was made
    session.add(category)
    session.flush()
    data = body(results={"A1": "fail", "A2": "fail", "A3": "pass"})
    with pytest.raises(Invalid, match="0101"):
        inspections.record_inspection(session, actor=o["disp"], data=data, now=NOW)
    assert session.exec(select(Inspection)).all() == []
    assert session.exec(select(InspectionItem)).all() == []
    assert session.exec(select(Case)).all() == []


@pytest.mark.parametrize(
    ("results", "named"),
    [
        ({"A1": "pass", "A2": "pass"}, "A3"),  # missing
        ({"A1": "pass", "A2": "pass", "A3": "pass", "ZZ": "pass"}, "ZZ"),  # unknown
    ],
)
def test_every_item_answered_exactly_once(session, setup, results, named) -> None:
    with pytest.raises(Invalid, match=named):
        inspections.record_inspection(
            session, actor=setup["disp"], data=body(results=results), now=NOW
        )
    assert session.exec(select(Case)).all() == []


def test_duplicate_answer_and_future_time_refused(session, setup) -> None:
    dup = body()
    dup.items.append(dup.items[0].model_copy())
    with pytest.raises(Invalid, match="A1"):
        inspections.record_inspection(session, actor=setup["disp"], data=dup, now=NOW)
    later = body(at=(NOW + timedelta(hours=1)).isoformat())
    with pytest.raises(Invalid, match="later than now"):
        inspections.record_inspection(session, actor=setup["disp"], data=later, now=NOW)


def test_roles_and_jurisdiction(session, setup) -> None:
    o = setup
    for name in ("admin", "h_zj"):
        with pytest.raises(Forbidden):
            inspections.record_inspection(session, actor=o[name], data=body(), now=NOW)
    with pytest.raises(Forbidden, match="enterprise"):  # a grid worker inspects places only
        inspections.record_inspection(session, actor=o["rep1"], data=body(), now=NOW)
    with pytest.raises(Forbidden, match="jurisdiction"):  # S2's dispatcher, an S1 enterprise
        inspections.record_inspection(session, actor=o["disp_s2"], data=body(), now=NOW)
    with pytest.raises(Forbidden, match="jurisdiction"):  # G1's grid worker, a G3 place
        enterprise(session, "P3", grid="G3", kind=EnterpriseKind.place)
        inspections.record_inspection(session, actor=o["rep1"], data=body("P3"), now=NOW)
    row = inspections.record_inspection(session, actor=o["rep1"], data=body("P1"), now=NOW)
    case = session.get(Case, inspection_reads.public_of(session, row).hazard_case_ids[0])
    assert case is not None and case.reporter_id == o["rep1"].id  # filed in the worker's name
    assert inspections.record_inspection(session, actor=o["sup"], data=body(), now=NOW).id
    seen = inspection_reads.list_inspections(session, actor=o["disp_s2"])
    assert seen == []
    assert len(inspection_reads.list_inspections(session, actor=o["disp"])) == 2
    with pytest.raises(Forbidden):
        inspection_reads.get_inspection(session, actor=o["disp_s2"], inspection_id=row.id)


def test_checklist_rules(session, setup) -> None:
    with pytest.raises(Conflict):
        checklist(session)
    no_category = ChecklistCreate(
        code="CL2", name="x", items=[ChecklistItemIn(code="B1", text="t", basis="b")]
    )
    with pytest.raises(Invalid, match="B1"):
        checklists.create_checklist(session, data=no_category, now=NOW)
    twice = ChecklistCreate(
        code="CL2",
        name="x",
        category_code="0201",
        items=[ChecklistItemIn(code="B1", text="t"), ChecklistItemIn(code="B1", text="u")],
    )
    with pytest.raises(Invalid, match="B1"):
        checklists.create_checklist(session, data=twice, now=NOW)
    new_items = ChecklistUpdate(
        category_code="0201", items=[ChecklistItemIn(code="N1", text="新项")]
    )
    checklists.update_checklist(session, code="CL1", data=new_items)
    assert [i.code for i in checklists.items_of(session, "CL1")] == ["N1"]
    inspections.record_inspection(
        session, actor=setup["disp"], data=body(results={"N1": "pass"}), now=NOW
    )
    with pytest.raises(Conflict, match="new set"):
        checklists.update_checklist(session, code="CL1", data=new_items)
    checklists.update_checklist(session, code="CL1", data=ChecklistUpdate(active=False))
    with pytest.raises(Invalid, match="deactivated"):
        inspections.record_inspection(
            session, actor=setup["disp"], data=body(results={"N1": "pass"}), now=NOW
        )


def test_figures_by_street_and_industry(session, setup) -> None:
    o = setup
    checklist(session, "CL1G", industry="")
    inspections.record_inspection(session, actor=o["disp"], data=body(), now=NOW)
    inspections.record_inspection(
        session,
        actor=o["disp"],
        data=body(results={"A1": "fail", "A2": "fail", "A3": "fail"}, unannounced=False),
        now=NOW,
    )
    inspections.record_inspection(session, actor=o["disp"], data=body("E3"), now=NOW)
    inspections.record_inspection(
        session,
        actor=o["disp"],
        data=body("P1", results={"A1": "pass", "A2": "pass", "A3": "na"}),
        now=NOW,
    )
    day = date(2025, 9, 30)
    by_street = inspection_figures.figures(
        session, actor=o["sup"], date_from=day, date_to=day, group_by="street"
    )
    rows = {r.key: r for r in by_street.rows}
    assert (rows["S1"].inspections, rows["S1"].enterprises, rows["S1"].unannounced) == (3, 2, 2)
    assert rows["S1"].hazards_found == 4 and rows["S1"].hazards_per_inspection == 1.33
    assert (rows["S2"].inspections, rows["S2"].hazards_found) == (1, 1)
    assert (by_street.total.inspections, by_street.total.enterprises) == (4, 3)
    assert by_street.total.hazards_per_inspection == 1.25
    by_industry = inspection_figures.figures(
        session, actor=o["sup"], date_from=day, date_to=day, group_by="industry"
    )
    rows = {r.key: r for r in by_industry.rows}
    assert (rows["工贸"].inspections, rows["工贸"].enterprises, rows["工贸"].hazards_found) == (
        2,
        1,
        4,
    )
    assert rows["人员密集场所"].hazards_per_inspection == 0
    scoped = inspection_figures.figures(
        session, actor=o["sup_s2"], date_from=day, date_to=day, group_by="street"
    )
    assert [r.key for r in scoped.rows] == ["S2"] and scoped.total.inspections == 1
    earlier = inspection_figures.figures(
        session, actor=o["sup"], date_from=day - timedelta(days=5), date_to=day - timedelta(days=1)
    )
    assert earlier.total.inspections == 0 and earlier.total.hazards_per_inspection is None
    with pytest.raises(Forbidden):
        inspection_figures.figures(session, actor=o["rep1"], date_from=day, date_to=day)
    with pytest.raises(Forbidden):
        inspection_figures.figures(
            session, actor=o["sup_s2"], date_from=day, date_to=day, region_code="S1"
        )
