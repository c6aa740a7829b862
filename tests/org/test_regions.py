"""closeloop/org/regions.py: renaming, moving, re-levelling and deactivating regions; the tree."""

import pytest
from sqlmodel import select

from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.org import service as org_service
from models.case import Case
from models.enums import CaseState, RegionLevel
from models.org import Region, RegionCreate, RegionUpdate
from tests.factories import act, new_case


def test_rename_keeps_the_path(session, org):  # type: ignore[no-untyped-def]
    r = org_service.update_region(session, code="S1", data=RegionUpdate(name="东门"))
    assert (r.name, r.path) == ("东门", "/D1/S1/")


def test_unknown_region_is_404(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        org_service.update_region(session, code="NOPE", data=RegionUpdate(name="x"))


def test_moving_a_community_rewrites_its_subtree_and_its_cases(session, org):  # type: ignore[no-untyped-def]
    case = new_case(session, org, grid="G1")
    session.flush()
    r = org_service.update_region(session, code="C1", data=RegionUpdate(parent_code="S2"))
    assert r.path == "/D1/S2/C1/"
    paths = dict(session.exec(select(Region.code, Region.path)).all())
    assert paths["G1"] == "/D1/S2/C1/G1/" and paths["G2"] == "/D1/S2/C1/G2/"
    assert paths["C2"] == "/D1/S2/C2/" and paths["S1"] == "/D1/S1/"  # the rest stays
    session.refresh(case)
    assert case.region_path == "/D1/S2/C1/G1/"
    # The case now belongs to S2's jurisdiction: S2's dispatcher may act on it.
    act(session, org, case, "dispatch", "disp_s2", unit_code="ZJ")
    assert case.state == CaseState.dispatched
    tree = {n.code: n for n in org_service.region_tree(session)}
    assert tree["S2"].cases == 1 and tree["S1"].cases == 0


def test_a_move_must_keep_the_tree_valid(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="community"):
        org_service.update_region(session, code="G1", data=RegionUpdate(parent_code="S1"))
    with pytest.raises(Invalid):
        org_service.update_region(session, code="C1", data=RegionUpdate(parent_code="NOPE"))
    with pytest.raises(Invalid):
        org_service.update_region(session, code="S1", data=RegionUpdate(parent_code=None))
    assert session.get(Region, "G1").path == "/D1/S1/C1/G1/"


def test_level_change_with_children_or_cases_is_409(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict, match="level"):
        org_service.update_region(
            session, code="C1", data=RegionUpdate(level=RegionLevel.street, parent_code="D1")
        )
    new_case(session, org, grid="G3", by="rep3")
    session.flush()
    with pytest.raises(Conflict, match="1 cases"):
        org_service.update_region(
            session, code="G3", data=RegionUpdate(level=RegionLevel.community, parent_code="S2")
        )


def test_level_change_of_an_empty_leaf(session, org):  # type: ignore[no-untyped-def]
    r = org_service.update_region(
        session, code="G2", data=RegionUpdate(level=RegionLevel.community, parent_code="S1")
    )
    assert (r.level, r.path) == (RegionLevel.community, "/D1/S1/G2/")


def test_deactivate_children_first(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict, match="deactivate them first"):
        org_service.update_region(session, code="C1", data=RegionUpdate(active=False))
    for code in ("G1", "G2", "C1"):
        org_service.update_region(session, code=code, data=RegionUpdate(active=False))
    assert session.get(Region, "C1").active is False
    with pytest.raises(Conflict, match="activate it first"):
        org_service.update_region(session, code="G1", data=RegionUpdate(active=True))


def test_no_new_case_under_an_inactive_region(session, org):  # type: ignore[no-untyped-def]
    org_service.update_region(session, code="G3", data=RegionUpdate(active=False))
    with pytest.raises(Invalid, match="grid_code"):
        new_case(session, org, grid="G3", by="rep3")


def test_region_tree_counts_with_two_group_by_queries(session, org):  # type: ignore[no-untyped-def]
    new_case(session, org, grid="G1")
    c = new_case(session, org, grid="G2", by="disp")
    act(session, org, c, "cancel", "disp", reason="重复")
    new_case(session, org, grid="G3", by="rep3")
    session.flush()
    org_service.create_region(
        session, data=RegionCreate(code="G4", name="空", level=RegionLevel.grid, parent_code="C2")
    )
    statements: list[str] = []
    from sqlalchemy import event

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        tree = org_service.region_tree(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 3
    assert [n.code for n in tree][:3] == ["D1", "S1", "C1"]
    nodes = {n.code: n for n in tree}
    d1 = nodes["D1"]
    assert (d1.depth, d1.children, d1.cases, d1.open_cases) == (0, 2, 3, 2)
    assert (nodes["C1"].depth, nodes["C1"].cases, nodes["C1"].open_cases) == (2, 2, 1)
    assert (nodes["G4"].depth, nodes["G4"].cases, nodes["G4"].children) == (3, 0, 0)
    assert nodes["G1"].active is True
    assert session.exec(select(Case)).all()


def test_a_parent_of_the_wrong_level_is_refused_in_words_not_codes(session, org):  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as refused:
        org_service.create_region(
            session,
            data=RegionCreate(
                code="C9", name="新社区", level=RegionLevel.community, parent_code="D1"
            ),
        )
    assert refused.value.msg.zh == "社区的上级必须是街道，D1 是区"
    with pytest.raises(Invalid) as missing:
        org_service.create_region(
            session, data=RegionCreate(code="G9", name="新网格", level=RegionLevel.grid)
        )
    assert missing.value.msg.zh == "网格需要指定上级社区（parent_code）"
