"""紧急信息 in the report (HTML/PDF) and its XLSX, in the words the Guangming bureau uses:
"紧急信息N件，…中位送达时间X分钟，…30分钟内送达率Y%" (figures: closeloop/reports/metrics/emergency.py)."""

from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from closeloop.reports.charts import number, percent
from models.metrics import Metrics

ROWS: list[tuple[str, str, str | None]] = [
    ("紧急信息（件）", "emergencies", "#,##0"),
    ("已送达（件）", "emergency_alerted", "#,##0"),
    ("中位送达时间（分钟）", "emergency_alert_median_minutes", "0.0"),
    ("30分钟内送达（件）", "emergency_alerted_within_30m", "#,##0"),
    ("30分钟内送达率", "emergency_within_30m_rate", "0.00%"),
]


def sentence(m: Metrics) -> str:
    """The report's sentence about the period's emergencies."""
    if not m.emergencies:
        return "本期无紧急信息。"
    # The median is of the delivered ones only: say how many those are, so no reader takes it
    # for all of them.
    if not m.emergency_alerted:
        delivered = "截至统计时点均未送达推送通知，"
    else:
        delivered = (
            f"截至统计时点已送达{number(m.emergency_alerted)}件，"
            f"中位送达时间{number(m.emergency_alert_median_minutes, 1)}分钟，"
        )
    return (
        f"紧急信息{number(m.emergencies)}件，{delivered}"
        f"30分钟内送达{number(m.emergency_alerted_within_30m)}件，"
        f"30分钟内送达率{percent(m.emergency_within_30m_rate)}。"
    )


def xlsx_rows(ws: Worksheet, *, row: int, m: Metrics) -> None:
    """The figures on the overview sheet from `row` on, then the sentence and what it counts."""
    for offset, (label, name, fmt) in enumerate(ROWS):
        ws.cell(row=row + offset, column=1, value=label).font = Font(bold=True)
        cell = ws.cell(row=row + offset, column=2, value=getattr(m, name))
        cell.number_format = fmt or "General"
    notes = row + len(ROWS)
    ws.cell(row=notes, column=1, value="紧急信息").font = Font(bold=True)
    ws.cell(row=notes, column=2, value=sentence(m))
    ws.cell(row=notes + 1, column=1, value="口径").font = Font(bold=True)
    ws.cell(row=notes + 1, column=2, value=DEFINITION)


DEFINITION = (
    "紧急信息：本期上报的标记为紧急或属紧急类别的事件；送达时间为自上报至首条推送通知（邮件或"
    "群机器人）送达的分钟数，截至统计时点尚未送达的计入未在30分钟内送达。"
)
