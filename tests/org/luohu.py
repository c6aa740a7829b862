"""A workbook of Luohu's shape: 1 district, 10 streets, 90 communities, 1,135 grids, 30 units,
a 16-class / 124-item checklist and 300 users (without passwords: each gets a one-time one).
Used by the functional test and by bench/org_import.py."""

import io

STREETS, COMMUNITIES, GRIDS, CLASSES, ITEMS, UNITS, USERS = 10, 90, 1135, 16, 124, 30, 300


def luohu_sheets(*, passwords: bool = False) -> dict[str, list[list[object]]]:
    """The sheets as rows (header first); `passwords`: every user row has a password."""
    regions: list[list[object]] = [["code", "name", "level", "parent_code"]]
    regions.append(["LH", "罗湖区", "district", None])
    communities = []
    for s in range(STREETS):
        street = f"LH{s:02d}"
        regions.append([street, f"第{s + 1}街道", "street", "LH"])
        for c in range(COMMUNITIES // STREETS):
            community = f"{street}{c:02d}"
            communities.append(community)
            regions.append([community, f"{street}第{c + 1}社区", "community", street])
    grids = []
    for i in range(GRIDS):  # 13 grids in the first 55 communities, 12 in the other 35
        community = communities[i % COMMUNITIES]
        grid = f"{community}W{i // COMMUNITIES:02d}"
        grids.append(grid)
        regions.append([grid, f"{community}网格{i // COMMUNITIES + 1}", "grid", community])
    units: list[list[object]] = [["code", "name", "short_name", "region_code", "email"]]
    for u in range(UNITS):
        units.append([f"U{u:02d}", f"罗湖区第{u + 1}局", f"局{u + 1}", "LH", f"u{u}@example.cn"])
    categories: list[list[object]] = [
        ["code", "name", "parent_code", "unit_code", "limit_days", "sign_hours"]
    ]
    for k in range(CLASSES):
        categories.append([f"{k + 1:02d}", f"大类{k + 1}", None, None, None, None])
    for i in range(ITEMS):
        parent = f"{i % CLASSES + 1:02d}"
        code = f"{parent}{i // CLASSES + 1:02d}"
        categories.append([code, f"小类{code}", parent, f"U{i % UNITS:02d}", 1 + i % 20, 2])
    users: list[list[object]] = [["username", "display_name", "role", "unit_code", "region_code"]]
    users.append(["admin2", "管理员", "admin", None, None])
    users.append(["sup-LH", "区督办", "supervisor", None, "LH"])
    users.append(["disp-LH", "区受理", "dispatcher", None, "LH"])
    for s in range(STREETS):
        users.append([f"sup-{s}", f"街道督办{s}", "supervisor", None, f"LH{s:02d}"])
        users.append([f"disp-{s}", f"街道受理{s}", "dispatcher", None, f"LH{s:02d}"])
    for u in range(UNITS):
        users.append([f"h-{u}", f"处置{u}", "handler", f"U{u:02d}", None])
    for r in range(USERS - len(users) + 1):
        users.append([f"rep-{r}", f"网格员{r}", "reporter", None, grids[r]])
    if passwords:
        users = [[*users[0], "password"]] + [[*u, f"pass-{u[0]}-2025"] for u in users[1:]]
    return {"regions": regions, "units": units, "categories": categories, "users": users}


def luohu_xlsx() -> bytes:
    return to_xlsx(luohu_sheets())


def to_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, rows in sheets.items():
        page = book.create_sheet(title)
        for values in rows:
            page.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
