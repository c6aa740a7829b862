"""The enterprise and place register: the rules of one record, who may do what, the import, and
a case filed with an enterprise taking its grid."""

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, text
from sqlmodel import select

from closeloop.cases import service as cases
from closeloop.errors import Conflict, Forbidden, Invalid, NotFound
from closeloop.safety import enterprise_import, enterprises
from closeloop.safety.credit_code import check_character
from closeloop.safety.enterprises import EnterpriseFilter
from models.case import CaseCreate
from models.enterprise import Enterprise, EnterpriseCreate, EnterpriseUpdate
from models.enums import CaseKind, EnterpriseKind, RiskLevel
from tests.factories import NOW, act, new_case


def credit(n: int) -> str:
    """A valid unified social credit code (GB 32100), different for each n."""
    first17 = f"91440303{n:09d}"
    return first17 + check_character(first17)


def wrong(code: str) -> str:
    """`code` with a wrong check character."""
    bad = "1" if code[17] != "1" else "2"
    return code[:17] + bad


def make(session, org, code="E1", grid="G1", by="admin", **kw):  # type: ignore[no-untyped-def]
    data = {"code": code, "name": f"企业{code}", "grid_code": grid, "credit_code": credit(1)}
    data.update(kw)
    return enterprises.create_enterprise(
        session, actor=org[by], data=EnterpriseCreate(**data), now=NOW
    )


def test_create_copies_the_grids_place(session, org) -> None:  # type: ignore[no-untyped-def]
    row = make(session, org, grid="G3", risk_level="major", industry="工贸")
    assert (row.street_code, row.community_code, row.region_path) == ("S2", "C2", "/D1/S2/C2/G3/")
    assert row.kind == EnterpriseKind.enterprise and row.active
    assert row.risk_level == RiskLevel.major
    assert row.created_at == NOW == row.updated_at


def test_credit_code_rules(session, org) -> None:  # type: ignore[no-untyped-def]
    good = credit(7)
    with pytest.raises(Invalid) as exc:
        make(session, org, credit_code=wrong(good))
    assert f"should be {good[17]}" in exc.value.detail and f"应为 {good[17]}" in exc.value.detail
    with pytest.raises(Invalid, match="18"):
        make(session, org, credit_code="91440303")
    with pytest.raises(Invalid, match="I O S V Z"):
        make(session, org, credit_code=good[:5] + "O" + good[6:])
    with pytest.raises(Invalid, match="required for kind enterprise"):
        make(session, org, credit_code=None)
    with pytest.raises(Invalid, match="a place"):
        make(session, org, kind="place", credit_code=good)
    place = make(session, org, code="P1", kind="place", credit_code=None)
    assert place.credit_code is None
    # Lower case and spaces are forgiven: the code is stored as written on the licence.
    row = make(session, org, code="E2", credit_code=f" {good.lower()} ")
    assert row.credit_code == good
    assert session.exec(select(func.count()).select_from(Enterprise)).one() == 2


def test_duplicates_are_409(session, org) -> None:  # type: ignore[no-untyped-def]
    make(session, org, code="E1", credit_code=credit(1))
    with pytest.raises(Conflict, match="E1"):
        make(session, org, code="E1", credit_code=credit(2))
    with pytest.raises(Conflict, match="already registered as E1"):
        make(session, org, code="E2", credit_code=credit(1))


def test_grid_must_be_an_active_grid_in_the_region(session, org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="not a grid"):
        make(session, org, grid="C1")
    with pytest.raises(Invalid, match="not a grid"):
        make(session, org, grid="NOPE")
    with pytest.raises(Forbidden):
        make(session, org, grid="G1", by="disp_s2")  # G1 is in S1
    assert make(session, org, grid="G3", by="disp_s2").grid_code == "G3"
    from models.org import Region

    grid = session.get(Region, "G2")
    grid.active = False
    session.add(grid)
    with pytest.raises(Invalid, match="deactivated"):
        make(session, org, code="E9", grid="G2", credit_code=credit(9))


def test_who_may_register(session, org) -> None:  # type: ignore[no-untyped-def]
    for username in ("rep1", "h_zj"):
        with pytest.raises(Forbidden, match="may not register"):
            make(session, org, by=username)
    assert make(session, org, by="sup").code == "E1"


def test_patch(session, org) -> None:  # type: ignore[no-untyped-def]
    make(session, org, code="E1", credit_code=credit(1))
    make(session, org, code="E2", credit_code=credit(2))

    def patch(by="disp", code="E1", **body):  # type: ignore[no-untyped-def]
        return enterprises.update_enterprise(
            session, actor=org[by], code=code, data=EnterpriseUpdate(**body), now=NOW
        )

    row = patch(grid_code="G3", contact_name="王五", risk_level=None)
    assert (row.street_code, row.region_path, row.contact_name) == ("S2", "/D1/S2/C2/G3/", "王五")
    with pytest.raises(Invalid, match="check character should be"):
        patch(credit_code=wrong(credit(3)))
    with pytest.raises(Conflict, match="already registered as E2"):
        patch(credit_code=credit(2))
    with pytest.raises(Invalid, match="a place"):
        patch(kind="place")  # its credit code must go too
    assert patch(kind="place", credit_code=None).credit_code is None
    with pytest.raises(Invalid, match="required for kind enterprise"):
        patch(kind="enterprise")
    with pytest.raises(Forbidden):
        patch(by="disp_s2", code="E2", name="新名称")  # E2 is in S1
    with pytest.raises(Forbidden):
        patch(by="h_zj", name="x")
    assert patch(active=False).active is False
    with pytest.raises(NotFound):
        patch(code="NOPE", name="x")
    with pytest.raises(ValueError):
        EnterpriseUpdate(name=None)  # a name cannot be erased


def test_list_filters_and_jurisdiction(session, org) -> None:  # type: ignore[no-untyped-def]
    make(session, org, code="E1", name="湖贝五金", credit_code=credit(1), industry="工贸")
    make(session, org, code="E2", grid="G3", credit_code=credit(2), risk_level="major")
    make(session, org, code="P1", grid="G2", kind="place", credit_code=None, address="东门町")
    enterprises.update_enterprise(
        session, actor=org["admin"], code="P1", data=EnterpriseUpdate(active=False), now=NOW
    )

    def codes(by="admin", **kw):  # type: ignore[no-untyped-def]
        rows, total = enterprises.find_page(
            session, actor=org[by], filters=EnterpriseFilter(**kw), page=1, page_size=50
        )
        assert total == len(rows)
        return [r.code for r in rows]

    assert codes() == ["E1", "E2", "P1"]
    assert codes(q="五金") == ["E1"]
    assert codes(q=credit(2)[10:].lower()) == ["E2"]
    assert codes(q="东门町") == ["P1"]
    assert codes(kind="place") == ["P1"]
    assert codes(industry="工贸") == ["E1"]
    assert codes(street_code="S1") == ["E1", "P1"]
    assert codes(grid_code="G3") == ["E2"]
    assert codes(region_code="C1") == ["E1", "P1"]
    assert codes(risk_level="major") == ["E2"]
    assert codes(active=False) == ["P1"]
    assert codes(active=True) == ["E1", "E2"]
    with pytest.raises(Invalid, match="street_code"):
        codes(street_code="NOPE")
    assert codes(by="disp_s2") == ["E2"]
    assert codes(by="rep1") == ["E1"]  # their grid G1
    assert codes(by="rep3") == ["E2"]
    # A unit of every district (region_code empty) sees the whole register.
    assert codes(by="h_zj") == ["E1", "E2", "P1"]
    with pytest.raises(Forbidden):
        enterprises.get_enterprise(session, actor=org["rep3"], code="E1")
    assert enterprises.get_enterprise(session, actor=org["rep1"], code="E1").name == "湖贝五金"


def test_a_handler_of_a_district_unit_sees_its_district_and_its_cases(session, org) -> None:  # type: ignore[no-untyped-def]
    from closeloop.org import service as org_service
    from models.org import RegionCreate, Unit

    for code, level, parent in (("D2", "district", None), ("S9", "street", "D2"),
                                ("C9", "community", "S9"), ("G9", "grid", "C9")):  # fmt: skip
        org_service.create_region(
            session, data=RegionCreate(code=code, name=code, level=level, parent_code=parent)
        )
    make(session, org, code="E1", credit_code=credit(1))  # in D1
    make(session, org, code="E2", credit_code=credit(2))  # in D1, no case of SW
    make(session, org, code="E9", grid="G9", credit_code=credit(9))  # in D2
    body = {"kind": "hazard", "grade": "general", "title": "隐患", "category_code": "0102"}
    case = cases.file_case(
        session, actor=org["disp"], now=NOW, data=CaseCreate(**body, enterprise_code="E1")
    )
    act(session, org, case, "dispatch", "disp", unit_code="SW")

    def seen() -> list[str]:
        rows, _ = enterprises.find_page(
            session, actor=org["h_sw"], filters=EnterpriseFilter(), page=1, page_size=50
        )
        return [r.code for r in rows]

    assert seen() == ["E1", "E2", "E9"]  # SW serves every district
    unit = session.get(Unit, "SW")
    unit.region_code = "D2"  # now SW serves district D2 only
    session.add(unit)
    assert seen() == ["E1", "E9"]  # D2's, and E1 for its case


def test_a_case_filed_with_an_enterprise_takes_its_grid(session, org) -> None:  # type: ignore[no-untyped-def]
    make(session, org, code="E1", grid="G2", credit_code=credit(1))

    def file(**kw):  # type: ignore[no-untyped-def]
        body = {"kind": "hazard", "grade": "general", "title": "隐患", "category_code": "0201"}
        body.update(kw)
        return cases.file_case(session, actor=org["disp"], now=NOW, data=CaseCreate(**body))

    case = file(enterprise_code="E1")
    assert (case.grid_code, case.enterprise_code, case.region_path) == ("G2", "E1", "/D1/S1/C1/G2/")
    with pytest.raises(Invalid, match="is in grid G2, not G1") as exc:
        file(enterprise_code="E1", grid_code="G1")
    assert exc.value.status == 422
    other = new_case(session, org, kind=CaseKind.hazard)
    from closeloop.cases.search import CaseFilter, find_page

    rows, total = find_page(
        session,
        actor=org["disp"],
        filters=CaseFilter(enterprise_code="E1"),
        page=1,
        page_size=10,
        now=NOW,
    )
    assert [r.id for r in rows] == [case.id] and total == 1 and other.id != case.id


# --- import ----------------------------------------------------------------------------------

HEADER = list(enterprise_import.COLUMNS)


def good(code: str, n: int, **kw: str) -> dict[str, str]:
    row = {"code": code, "name": f"企业{code}", "kind": "enterprise", "credit_code": credit(n)}
    row.update(grid_code="G1", industry="工贸", risk_level="general", contact_phone="138")
    row.update(kw)
    return row


def csv_file(rows: list[dict[str, str]], header: list[str] | None = None) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or HEADER, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def run(session, org, data: io.BytesIO, filename="register.csv", by="admin", **kw):  # type: ignore[no-untyped-def]
    return enterprise_import.import_file(
        session, actor=org[by], fileobj=data, filename=filename, now=NOW, **kw
    )


def test_import_good_rows_in_bad_rows_reported(session, org) -> None:  # type: ignore[no-untyped-def]
    make(session, org, code="OLD", credit_code=credit(99))
    rows = [
        good("E1", 1),  # row 2
        good("E2", 2, credit_code=wrong(credit(2))),  # 3: wrong check character
        good("E3", 3, grid_code="NOPE"),  # 4
        good("P1", 0, kind="place", credit_code="", grid_code="G3"),  # 5
        good("E1", 4),  # 6: repeats row 2
        good("E5", 1),  # 7: credit code of row 2
        good("OLD", 5),  # 8: in the register
        good("E6", 99),  # 9: credit code of OLD
        good("E7", 7, risk_level="huge"),  # 10
        good("E8", 8, kind="place"),  # 11: a place with a credit code
        good("E9", 9, name=""),  # 12
        good("E10", 10),  # 13
    ]
    result = run(session, org, csv_file(rows), batch_size=3)
    assert result["imported"] == 3
    errors = {r["row"]: r["error"] for r in result["rejected"]}
    assert sorted(errors) == [3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert result["rejected_count"] == 9
    assert f"should be {credit(2)[17]}" in errors[3]
    assert "NOPE" in errors[4]
    assert "repeats row 2" in errors[6] and "credit_code" in errors[7]
    assert "already exists" in errors[8] and "already registered as OLD" in errors[9]
    assert "风险等级" in errors[10] and "risk_level" in errors[10]
    assert "a place" in errors[11]
    assert "name" in errors[12]
    codes = session.exec(select(Enterprise.code).order_by(Enterprise.code)).all()
    assert codes == ["E1", "E10", "OLD", "P1"]
    p1 = session.get(Enterprise, "P1")
    assert (p1.kind, p1.credit_code, p1.street_code) == ("place", None, "S2")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_imported_register_leaves_the_planner_its_rows(session, org) -> None:  # type: ignore[no-untyped-def]
    """The import analyzes the register before it commits (closeloop.db.refresh_statistics)."""
    result = run(session, org, csv_file([good(f"E{n}", n) for n in range(1, 121)]))
    assert result["imported"] == 120
    counted = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST('enterprise' AS regclass)")
    )
    assert counted.scalar_one() == 120


def test_import_xlsx_and_jurisdiction(session, org) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in (good("E1", 1), good("E2", 2, grid_code="G3")):
        sheet.append([row.get(c, "") or None for c in HEADER])
    sheet.append(["E3", "企业E3", credit(3), "enterprise", None, "G3", None, None, None, None,
                  13800001234, 22.5, 114.1])  # fmt: skip
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    result = run(session, org, data, filename="register.xlsx", by="disp_s2")
    assert result["imported"] == 2
    assert [r["row"] for r in result["rejected"]] == [2]  # G1 is outside S2
    assert "jurisdiction" in result["rejected"][0]["error"]
    e3 = session.get(Enterprise, "E3")
    assert (e3.contact_phone, e3.lat, e3.lon) == ("13800001234", 22.5, 114.1)
    with pytest.raises(Forbidden):
        run(session, org, csv_file([good("E4", 4)]), by="rep1")


def test_import_refuses_a_file_without_the_required_columns(session, org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="grid_code"):
        run(session, org, csv_file([good("E1", 1)], header=["code", "name"]))
    with pytest.raises(Invalid, match=".csv or .xlsx"):
        run(session, org, csv_file([good("E1", 1)]), filename="register.txt")
    assert session.exec(select(func.count()).select_from(Enterprise)).one() == 0


def test_demo_register_goes_through_the_service() -> None:
    from closeloop.demo.enterprises import records

    for rec in records():
        data = EnterpriseCreate(**rec)
        if data.kind == EnterpriseKind.enterprise:
            assert enterprises.credit_problem(data.credit_code or "") is None, rec["code"]
