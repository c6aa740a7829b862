"""The organisation workbook: created or updated by code through the org service, all or
nothing, every bad row reported with its sheet and row."""

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlmodel import Session, select

from closeloop.auth import security
from closeloop.auth.policy import SYSTEM, Principal
from closeloop.errors import Forbidden, Invalid
from closeloop.org.workbook.service import import_org
from closeloop.org.workbook.template import template_workbook
from models.enums import Role
from models.org import Category, Region, Unit
from models.user import User
from tests.factories import NOW

MODELS = {"regions": Region, "units": Unit, "categories": Category, "users": User}


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        page = book.create_sheet(title)
        for values in rows:
            page.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[object]], bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def run(session: Session, data: bytes, filename: str = "org.xlsx", **kw):  # type: ignore[no-untyped-def]
    return import_org(session, data=data, filename=filename, actor=SYSTEM, now=NOW, **kw)


def counts(session: Session) -> dict[str, int]:
    return {
        name: session.exec(select(func.count()).select_from(model)).one()
        for name, model in MODELS.items()
    }


REGIONS = [
    ["code", "name", "level", "parent_code"],
    ["D", "区", "district", None],
    ["S", "街道", "street", "D"],
    ["C", "社区", "community", "S"],
    ["G1", "网格一", "grid", "C"],
    ["G2", "网格二", "grid", "C"],
]
UNITS = [["code", "name", "short_name", "region_code"], ["U1", "城管局", "城管", "D"]]
CATEGORIES = [
    ["code", "name", "parent_code", "unit_code", "limit_days"],
    ["01", "市容", None, None, None],
    ["0101", "占道", "01", "U1", 3],
]
USERS = [
    ["username", "display_name", "role", "unit_code", "region_code", "password"],
    ["rep", "网格员甲", "reporter", None, "G1", "secret-pass-1"],
    ["h1", "处置甲", "handler", "U1", None, None],
]
GOOD = {"regions": REGIONS, "units": UNITS, "categories": CATEGORIES, "users": USERS}


def test_the_template_imports_into_an_empty_database(session):
    result = run(session, template_workbook(), "template.xlsx")
    assert result["rejected"] == []
    assert result["created"] == {"regions": 7, "units": 3, "categories": 6, "users": 5}
    assert result["updated"] == {"regions": 0, "units": 0, "categories": 0, "users": 0}
    roles = {u.role for u in session.exec(select(User))}
    assert roles == set(Role)
    # Nobody had a password in the template: each got a one-time password, shown once.
    generated = {p["username"]: p["password"] for p in result["passwords"]}
    assert set(generated) == {u.username for u in session.exec(select(User))}
    user = session.exec(select(User).where(User.username == "cg01")).one()
    assert user.must_change_password
    assert security.verify_password(user.password_hash, generated["cg01"])
    unit = session.get(Unit, "LH-ZJ")
    assert unit is not None and (unit.short_name, unit.region_code) == ("住建", "440303")
    item = session.get(Category, "0201")
    assert item is not None and (item.unit_code, item.limit_days) == ("LH-ZJ", 15)


def test_the_template_has_the_four_sheets_headers_first_and_instructions():
    book = load_workbook(io.BytesIO(template_workbook()))
    assert book.sheetnames == ["说明", "regions", "units", "categories", "users"]
    assert [c.value for c in book["units"][1]] == [
        "code",
        "name",
        "short_name",
        "email",
        "head_email",
        "webhook_url",
        "region_code",
        "active",
    ]
    assert "简称" in book["units"]["C1"].comment.text
    described = {(row[0], row[1]) for row in book["说明"].iter_rows(values_only=True)}
    assert ("users（用户）", "password") in described


def test_a_given_password_is_kept_and_need_not_be_changed(session):
    result = run(session, xlsx(GOOD))
    assert result["rejected"] == []
    assert [p["username"] for p in result["passwords"]] == ["h1"]
    rep = session.exec(select(User).where(User.username == "rep")).one()
    assert security.verify_password(rep.password_hash, "secret-pass-1")
    assert not rep.must_change_password


def test_three_bad_rows_in_three_sheets_are_all_reported_and_nothing_is_written(session):
    run(session, xlsx({"regions": REGIONS[:2]}))  # the district exists beforehand
    session.flush()
    before = counts(session)
    bad = {
        "regions": [*REGIONS, ["G3", "网格三", "grid", "NOPE"]],
        "units": [*UNITS, ["U2", "水务局", "水务", None], ["U3", "坏邮箱", "坏", None]],
        "categories": CATEGORIES,
        "users": [*USERS, ["disp", "派遣", "dispatcher", None, None, None]],
    }
    bad["units"][0] = ["code", "name", "short_name", "region_code", "email"]
    bad["units"][3] = ["U3", "坏邮箱", "坏", None, "not-an-email"]
    result = run(session, xlsx(bad))
    assert [(r["sheet"], r["row"]) for r in result["rejected"]] == [
        ("regions", 7),
        ("units", 4),
        ("users", 4),
    ]
    errors = [r["error"] for r in result["rejected"]]
    assert "community" in errors[0] and "email" in errors[1] and "region_code" in errors[2]
    assert all(" / " in e for e in errors)  # Chinese, then English
    assert result["created"] == dict.fromkeys(MODELS, 0)
    assert "passwords" not in result
    assert counts(session) == before


def test_a_second_import_of_the_same_file_updates_and_creates_nothing(session):
    data = xlsx(GOOD)
    first = run(session, data)
    assert first["created"] == {"regions": 5, "units": 1, "categories": 2, "users": 2}
    second = run(session, data)
    assert second["rejected"] == []
    assert second["created"] == dict.fromkeys(MODELS, 0)
    assert second["updated"] == {"regions": 5, "units": 1, "categories": 2, "users": 2}
    assert "passwords" not in second  # existing users keep their password


def test_parents_come_first_whatever_the_order_of_the_rows(session):
    regions = [REGIONS[0], *reversed(REGIONS[1:])]
    categories = [CATEGORIES[0], CATEGORIES[2], CATEGORIES[1]]
    result = run(session, xlsx({"categories": categories, "units": UNITS, "regions": regions}))
    assert result["rejected"] == []
    grid = session.get(Region, "G2")
    assert grid is not None and grid.path == "/D/S/C/G2/"


def test_one_csv_per_sheet_named_by_the_file_or_the_argument(session):
    assert (
        run(session, csv_bytes(REGIONS, bom=True), "luohu-regions.csv")["created"]["regions"] == 5
    )
    assert run(session, csv_bytes(UNITS), "units.csv")["created"]["units"] == 1
    assert (
        run(session, csv_bytes(CATEGORIES), "list.csv", sheet="类别")["created"]["categories"] == 2
    )
    with pytest.raises(Invalid) as exc:
        run(session, csv_bytes(USERS), "people.csv")
    assert "users.csv" in exc.value.detail


def test_a_zip_of_csvs(session):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, rows in GOOD.items():
            archive.writestr(f"org/{name}.csv", csv_bytes(rows))
    result = run(session, out.getvalue(), "org.zip")
    assert result["created"] == {"regions": 5, "units": 1, "categories": 2, "users": 2}


def test_chinese_sheet_names_headers_and_values(session):
    result = run(
        session,
        xlsx(
            {
                "区域": [
                    ["编码", "名称", "层级", "上级编码", "启用"],
                    ["D", "区", "区", None, "是"],
                    ["S", "街道", "街道", "D", "否"],
                ],
                "User": [["用户名", "姓名", "角色", "区域编码"], ["sup", "督办甲", "督办", "D"]],
            }
        ),
    )
    assert result["rejected"] == []
    street = session.get(Region, "S")
    assert street is not None and street.level == "street" and street.active is False
    user = session.exec(select(User).where(User.username == "sup")).one()
    assert user.role == Role.supervisor


def test_repeated_codes_and_empty_required_cells_are_rejected(session):
    regions = [*REGIONS, ["G1", "again", "grid", "C"], ["G9", None, "grid", "C"]]
    result = run(session, xlsx({"regions": regions}))
    assert [(r["row"], r["error"]) for r in result["rejected"]] == [
        (7, "code G1 与第 5 行重复 / code 'G1' repeats row 5"),
        (8, "name 必填 / name must not be empty"),
    ]
    assert counts(session)["regions"] == 0


def test_field_errors_name_the_field_and_the_limit(session):
    categories = [*CATEGORIES, ["0102", "x", "01", "U1", 999]]
    result = run(session, xlsx({"regions": REGIONS, "units": UNITS, "categories": categories}))
    [rejected] = result["rejected"]
    assert rejected["error"].startswith("limit_days 不能大于 365 / limit_days:")


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"hello", "org.txt", ".xlsx"),
        (b"not a zip", "org.xlsx", "XLSX"),
        (xlsx({"Sheet1": [["a"]]}), "org.xlsx", "regions, units, categories and users"),
        (xlsx({"units": [["code", "name"]]}), "org.xlsx", "short_name"),
        (b"\xff\xfe", "units.csv", "UTF-8"),
    ],
)
def test_an_unreadable_file_is_refused_saying_what_is_expected(session, data, filename, expected):
    with pytest.raises(Invalid) as exc:
        run(session, data, filename)
    assert expected in exc.value.detail


def test_only_an_admin_imports(session):
    actor = Principal(id=1, username="sup", display_name="督办", role=Role.supervisor)
    with pytest.raises(Forbidden):
        import_org(session, data=xlsx(GOOD), filename="org.xlsx", actor=actor, now=NOW)


def test_an_update_changes_the_fields_the_sheet_names_and_keeps_the_others(session):
    run(session, xlsx(GOOD))
    units = [["code", "name", "short_name", "email"], ["U1", "城市管理局", "城管", "u1@example.cn"]]
    users = [["username", "display_name", "role", "unit_code"], ["h1", "处置乙", "handler", "U1"]]
    result = run(session, xlsx({"units": units, "users": users}))
    assert result["updated"] == {"regions": 0, "units": 1, "categories": 0, "users": 1}
    unit = session.get(Unit, "U1")
    assert unit is not None
    assert (unit.name, unit.email, unit.region_code) == ("城市管理局", "u1@example.cn", "D")
    user = session.exec(select(User).where(User.username == "h1")).one()
    assert user.display_name == "处置乙" and user.must_change_password


def test_a_workbook_deactivates_children_before_their_parents(session):
    run(session, xlsx(GOOD))
    regions = [["code", "name", "level", "parent_code", "active"]] + [
        [*r, "否"]
        for r in REGIONS[2:]  # the street first, its grids last
    ]
    categories = [["code", "name", "active"], ["0101", "占道", "否"]]
    units = [["code", "name", "short_name", "active"], ["U1", "城管局", "城管", "否"]]
    result = run(session, xlsx({"regions": regions, "units": units, "categories": categories}))
    assert result["rejected"] == []
    assert [session.get(Region, c).active for c in ("D", "S", "C", "G1")] == [
        True,
        False,
        False,
        False,
    ]  # type: ignore[union-attr]
    assert session.get(Unit, "U1").active is False  # type: ignore[union-attr]


def test_a_deactivation_the_service_refuses_rejects_its_row(session):
    run(session, xlsx(GOOD))
    units = [["code", "name", "short_name", "active"], ["U1", "城管局", "城管", "否"]]
    [rejected] = run(session, xlsx({"units": units}))["rejected"]
    assert (rejected["sheet"], rejected["row"]) == ("units", 2)
    assert "0101" in rejected["error"]  # the active category still routed to it
    assert session.get(Unit, "U1").active is True  # type: ignore[union-attr]


def test_luohus_shape_imports_whole(session):
    from tests.org.luohu import GRIDS, ITEMS, USERS, luohu_xlsx

    result = run(session, luohu_xlsx(), "luohu.xlsx")
    assert result["rejected"] == []
    assert result["created"] == {
        "regions": 1 + 10 + 90 + GRIDS,
        "units": 30,
        "categories": 16 + ITEMS,
        "users": USERS,
    }
    assert len(result["passwords"]) == USERS
    levels = dict(
        session.exec(select(Region.level, func.count()).group_by(Region.level)).all()  # type: ignore[call-overload]
    )
    assert levels == {"district": 1, "street": 10, "community": 90, "grid": 1135}
