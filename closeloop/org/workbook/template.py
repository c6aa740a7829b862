"""The template workbook: the four sheets with their header row (the field names; the Chinese
header in each cell's comment), pre-filled with an example street, and a 说明 sheet explaining
every column in Chinese and English. Imported as it is into an empty district, it succeeds."""

import io

from closeloop.org.workbook.columns import SHEET_ZH, SHEETS

DISTRICT, STREET = "440303", "440303001"
COMMUNITIES = ("440303001001", "440303001002")
EXAMPLE: dict[str, list[tuple[object, ...]]] = {
    # code, name, level, parent_code, active
    "regions": [
        (DISTRICT, "罗湖区", "district", None, "是"),
        (STREET, "东门街道", "street", DISTRICT, "是"),
        (COMMUNITIES[0], "城东社区", "community", STREET, "是"),
        (COMMUNITIES[1], "湖贝社区", "community", STREET, "是"),
        (f"{COMMUNITIES[0]}01", "城东社区第一网格", "grid", COMMUNITIES[0], "是"),
        (f"{COMMUNITIES[0]}02", "城东社区第二网格", "grid", COMMUNITIES[0], "是"),
        (f"{COMMUNITIES[1]}01", "湖贝社区第一网格", "grid", COMMUNITIES[1], "是"),
    ],
    # code, name, short_name, email, head_email, webhook_url, region_code, active
    "units": [
        (
            "LH-CG",
            "罗湖区城市管理和综合执法局",
            "城管",
            "cg@example.gov.cn",
            None,
            None,
            DISTRICT,
            "是",
        ),
        (
            "LH-ZJ",
            "罗湖区住房和建设局",
            "住建",
            "zj@example.gov.cn",
            "zj-head@example.gov.cn",
            None,
            DISTRICT,
            "是",
        ),
        ("LH-YJ", "罗湖区应急管理局", "应急", None, None, None, DISTRICT, "是"),
    ],
    # code, name, parent_code, unit_code, limit_days, sign_hours, active
    "categories": [
        ("01", "市容环境", None, None, None, None, "是"),
        ("0101", "占道经营", "01", "LH-CG", 3, 2, "是"),
        ("0102", "暴露垃圾", "01", "LH-CG", 2, 2, "是"),
        ("02", "安全隐患", None, None, None, None, "是"),
        ("0201", "违规搭建", "02", "LH-ZJ", 15, 4, "是"),
        ("0202", "消防通道堵塞", "02", "LH-YJ", 5, 2, "是"),
    ],
    # username, display_name, role, unit_code, region_code, email, password, active
    "users": [
        ("wgy01", "张网格", "reporter", None, f"{COMMUNITIES[0]}01", None, None, "是"),
        ("dispatch01", "李受理", "dispatcher", None, STREET, None, None, "是"),
        ("cg01", "王城管", "handler", "LH-CG", None, "wang@example.gov.cn", None, "是"),
        ("supervisor01", "赵督办", "supervisor", None, DISTRICT, None, None, "是"),
        ("admin01", "陈管理员", "admin", None, None, None, None, "是"),
    ],
}
INTRO = [
    ("闭环 Closeloop 组织架构导入模板", "Closeloop organisation import template"),
    (
        "填写 regions（区域）、units（单位）、categories（类别）、users（用户）四张工作表后，"
        "在管理页面上传或运行 closeloop org import 文件名.xlsx。",
        "Fill in the sheets regions, units, categories and users, then upload the file on the "
        "admin pages or run `closeloop org import FILE.xlsx`.",
    ),
    (
        "第 1 行是列名（英文字段名，也可用中文列名），从第 2 行起每行一条。按编码（用户按用户名）"
        "新建或更新：已存在的编码会被更新。",
        "Row 1 holds the column names (the field names; the Chinese names work too); one record "
        "per row from row 2. Rows are created or updated by code (users by username).",
    ),
    (
        "全部成功或全部不写入：只要有一行有误，就什么都不保存，并列出所有出错的行。",
        "All or nothing: if any row is wrong, nothing is saved and every wrong row is listed.",
    ),
    (
        "用户的密码留空时系统生成一次性密码，仅在导入结果中显示一次，首次登录须修改。",
        "A user without a password gets a one-time password, shown once in the result; it must be "
        "changed at the first login.",
    ),
    ("示例数据可以删除或改写。", "The example rows may be deleted or changed."),
]


def template_workbook() -> bytes:
    """The template as XLSX bytes."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "说明"
    bold = Font(bold=True)
    for zh, en in INTRO:
        notes.append([zh, en])
    notes.append([])
    notes.append(["工作表 sheet", "列 column", "中文列名", "必填 required", "说明", "Description"])
    for cell in notes[notes.max_row]:
        cell.font = bold
    for sheet, columns in SHEETS.items():
        for column in columns:
            notes.append(
                [
                    f"{sheet}（{SHEET_ZH[sheet]}）",
                    column.name,
                    column.zh,
                    "是 yes" if column.required else "",
                    column.help.zh,
                    column.help.en,
                ]
            )
    for letter, width in zip("ABCDEF", (22, 16, 14, 12, 50, 70), strict=True):
        notes.column_dimensions[letter].width = width
    for sheet, columns in SHEETS.items():
        page = book.create_sheet(sheet)
        page.append([c.name for c in columns])
        for cell, column in zip(page[1], columns, strict=True):
            cell.font = bold
            cell.comment = Comment(f"{column.zh}：{column.help.zh}\n{column.help.en}", "Closeloop")
            page.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 4)
        for values in EXAMPLE[sheet]:
            page.append(list(values))
        for row in page.iter_rows(min_row=2, max_col=1):
            for cell in row:
                cell.number_format = "@"  # codes stay text: 440303001 must not lose a leading 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
