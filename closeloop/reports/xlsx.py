"""The report as an XLSX workbook: one sheet per table, numbers as numbers, rates as numbers
formatted "0.00%" (Excel shows 97.93%, the cell holds 0.9793), bold header row, frozen panes.
Chinese only, times in Shanghai time; the case sheets carry the whole set the overview counts
(up to report_content.XLSX_CAP rows, then a line says how many more)."""

from io import BytesIO
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from closeloop.reports import emergency
from closeloop.reports.charts import text_width
from closeloop.reports.render import (
    HEADLINE,
    RANK_COLUMNS,
    SAFETY_COLUMNS,
    SAFETY_HEADLINE,
    TREND_COLUMNS,
    definitions,
    moment,
    period_span,
    safety_definitions,
    value,
)
from models.metrics import Metrics

if TYPE_CHECKING:
    from closeloop.reports.content import CaseList, Content

FORMATS = {"rate": "0.00%", "days": "0.00", "score": "0.00", "int": "#,##0"}
HEADER_FILL = PatternFill("solid", fgColor="E8EEF6")
SHEETS = (
    "概览",
    "按类型",
    "趋势",
    "街道排名",
    "社区排名",
    "网格排名",
    "单位排名",
    "超期案件",
    "挂牌督办",
    "函件",
)
SAFETY_SHEET = "安全生产"  # after 函件, only when the report has the 安全生产 section
CASE_HEADER = [
    "序号",
    "编号",
    "类型",
    "名称",
    "街道",
    "处置单位",
    "状态",
    "派遣日期",
    "整改期限",
    "超期工作日",
    "重大隐患",
    "挂牌督办",
]


def _sheet(
    wb: Workbook, title: str, header: list[str], rows: list[list[Any]], formats: list[str | None]
) -> Worksheet:
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append(row)
    for col_idx, fmt in enumerate(formats, start=1):
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=2, min_col=col_idx, max_col=col_idx):
            cell.number_format = fmt
    for col_idx in range(1, len(header) + 1):
        letter = get_column_letter(col_idx)
        widest = max(
            (
                text_width(_shown(c.value), 1.0)
                for (c,) in ws.iter_rows(min_col=col_idx, max_col=col_idx)
            ),
            default=4.0,
        )
        # Excel's width unit is one digit, about half an em: a Chinese character takes ~2.
        ws.column_dimensions[letter].width = min(max(widest * 1.9 + 2, 8), 60)
    ws.freeze_panes = "C2" if title.endswith("排名") else "B2"
    return ws


def _shown(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def _figures(m: Metrics, columns: list[tuple[str, str, str]]) -> list[Any]:
    return [value(m, path) for _, path, _ in columns]


def _formats(columns: list[tuple[str, str, str]]) -> list[str | None]:
    return [FORMATS[fmt] for _, _, fmt in columns]


def _case_rows(cases: "CaseList") -> list[list[Any]]:
    return [
        [
            r["seq"],
            r["number"],
            r["kind"],
            r["title"],
            r["street"],
            r["unit"],
            r["state"],
            r["dispatched"],
            r["due"],
            r["days_overdue"],
            "是" if r["major"] else "",
            "是" if r["listed"] else "",
        ]
        for r in cases.all_rows
    ]


def render_xlsx(content: "Content") -> bytes:
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    overview = [[label, value(content.total, path)] for label, path, _ in HEADLINE]
    ws = _sheet(wb, "概览", ["指标", "数值"], overview, [None, None])
    for row, (_, _, fmt) in enumerate(HEADLINE, start=2):
        ws.cell(row=row, column=2).number_format = FORMATS[fmt]
    info = [
        ("报告", content.title),
        ("统计周期", period_span(content)),
        ("统计时点", f"{moment(content.as_of)}（北京时间）"),
        *(("口径", text) for text in definitions(content)),
    ]
    for offset, (label, text) in enumerate(info):
        ws.cell(row=len(HEADLINE) + 3 + offset, column=1, value=label).font = Font(bold=True)
        ws.cell(row=len(HEADLINE) + 3 + offset, column=2, value=text)
    emergency.xlsx_rows(ws, row=len(HEADLINE) + 4 + len(info), m=content.total)  # 紧急信息

    if "kind" in content.by:
        kinds = [[g.name, *_figures(g, TREND_COLUMNS)] for g in content.by["kind"].groups]
        _sheet(
            wb,
            "按类型",
            ["类型", *[c[0] for c in TREND_COLUMNS]],
            kinds,
            [None, *_formats(TREND_COLUMNS)],
        )

    trend = [[p.key, p.start, p.end, *_figures(m, TREND_COLUMNS)] for p, m in content.trend]
    _sheet(
        wb,
        "趋势",
        ["报告期", "起", "止", *[c[0] for c in TREND_COLUMNS]],
        trend,
        ["@", "yyyy-mm-dd", "yyyy-mm-dd", *_formats(TREND_COLUMNS)],
    )

    for group, title in (
        ("street", "街道排名"),
        ("community", "社区排名"),
        ("grid", "网格排名"),
        ("unit", "单位排名"),
    ):
        rows = [
            [
                g.rank,
                g.name,
                g.key,
                "是" if g.tied else "",
                *_figures(g, RANK_COLUMNS),
                "是" if g.behind else "",
            ]
            for g in content.by[group].groups
        ]
        _sheet(
            wb,
            title,
            ["排名", "名称", "代码", "并列", *[c[0] for c in RANK_COLUMNS], "排名靠后"],
            rows,
            ["0", None, "@", None, *_formats(RANK_COLUMNS), None],
        )

    case_formats: list[str | None] = [
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "yyyy-mm-dd",
        "yyyy-mm-dd",
        "0",
        None,
        None,
    ]
    for title, cases in (("超期案件", content.overdue), ("挂牌督办", content.listed)):
        rows = _case_rows(cases)
        if cases.more_in_xlsx:
            rows.append([None, f"另有 {cases.more_in_xlsx} 件未列出（共 {cases.total} 件）"])
        _sheet(wb, title, CASE_HEADER, rows, case_formats)

    letters = [
        [r["seq"], r["number"], r["type"], r["title"], r["unit"], r["issued"], r["cases"]]
        for r in content.letters
    ]
    _sheet(
        wb,
        "函件",
        ["序号", "文号", "类型", "标题", "主送单位", "发出日期", "涉及案件数"],
        letters,
        [None, None, None, None, None, "yyyy-mm-dd", "0"],
    )

    if content.safety is not None:
        _safety_sheet(wb, content)
    assist_sheet(wb, content.by["unit"].groups)  # 协办 (co-handling), when there were tasks

    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def assist_sheet(wb: Workbook, groups: list[Any]) -> None:
    """协办: per assisting unit, its tasks and how many were signed and done on time."""
    rows = [
        [g.name, g.key, *[getattr(g, name) for _, name, _ in ASSIST_COLUMNS]]
        for g in groups
        if g.assist_tasks
    ]
    if rows:
        formats = [FORMATS[fmt] for _, _, fmt in ASSIST_COLUMNS]
        header = ["协办单位", "代码", *[label for label, _, _ in ASSIST_COLUMNS]]
        _sheet(wb, ASSIST_SHEET, header, rows, [None, "@", *formats])


ASSIST_SHEET = "协办"
ASSIST_COLUMNS = [
    ("协办任务", "assist_tasks", "int"),
    ("按时签收", "assist_signed_on_time", "int"),
    ("按时签收率", "assist_sign_on_time_rate", "rate"),
    ("按时完成", "assist_done_on_time", "int"),
    ("按时完成率", "assist_done_on_time_rate", "rate"),
]


def _safety_sheet(wb: Workbook, content: "Content") -> None:
    """安全生产: the section's figures (指标, 数值), then the same columns per street as the
    report's table, then what the figures count."""
    s = content.safety
    assert s is not None
    rows = [[label, value(s, path)] for label, path, _ in SAFETY_HEADLINE]
    ws = _sheet(wb, SAFETY_SHEET, ["指标", "数值"], rows, [None, None])
    for row, (_, _, fmt) in enumerate(SAFETY_HEADLINE, start=2):
        ws.cell(row=row, column=2).number_format = FORMATS[fmt]
    top = len(SAFETY_HEADLINE) + 3
    header = ["街道", "代码", *[c[0] for c in SAFETY_COLUMNS]]
    for col_idx, text in enumerate(header, start=1):
        cell = ws.cell(row=top, column=col_idx, value=text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    streets = [(g.name, g.key, g) for g in s.streets] + [("合计", None, s.total)]
    for offset, (name, key, m) in enumerate(streets, start=1):
        ws.cell(row=top + offset, column=1, value=name)
        ws.cell(row=top + offset, column=2, value=key)
        for col_idx, (_, path, fmt) in enumerate(SAFETY_COLUMNS, start=3):
            cell = ws.cell(row=top + offset, column=col_idx, value=value(m, path))
            cell.number_format = FORMATS[fmt]
    notes = top + len(streets) + 2
    for offset, text in enumerate(safety_definitions(content)):
        ws.cell(row=notes + offset, column=1, value="口径").font = Font(bold=True)
        ws.cell(row=notes + offset, column=2, value=text)
