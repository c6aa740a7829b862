"""The report as HTML and PDF (WeasyPrint). Templates: closeloop/reports/templates/ (Jinja2,
StrictUndefined, autoescaped). Every rate goes through charts.percent ("97.93%", None → "—")."""

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment
from markupsafe import Markup

from closeloop.reports import emergency
from closeloop.reports.charts import DASH, bar_chart, line_chart, number, percent
from closeloop.reports.metrics import followups, ranking
from closeloop.templating import document_env
from closeloop.text import cn_date, cn_time, moment
from models.metrics import GroupMetrics, Ranking

if TYPE_CHECKING:
    from closeloop.reports.content import Content

# (label, field, format): the headline figures, in the order leadership reads them.
HEADLINE: list[tuple[str, str, str]] = [
    ("上报数", "reported", "int"),
    ("立案数", "accepted", "int"),
    ("办结数", "closed", "int"),
    ("办结率", "closure_rate", "rate"),
    ("按期办结率", "on_time_closure_rate", "rate"),
    ("超期未办结", "overdue_open", "int"),
    ("退单率", "return_rate", "rate"),
    ("返工率", "rework_rate", "rate"),
    ("按时签收率", "sign_on_time_rate", "rate"),
    ("平均办理时长（工作日）", "handling_days_mean", "days"),
    ("中位办理时长（工作日）", "handling_days_median", "days"),
    ("提醒函", "letters.reminder", "int"),
    ("督办函", "letters.supervision", "int"),
    ("警示函", "letters.warning", "int"),
    ("挂牌督办", "listed", "int"),
]
# The columns of ranking tables and of the trend table.
RANK_COLUMNS: list[tuple[str, str, str]] = [*HEADLINE[:9], ("综合指标", "score", "score")]
TREND_COLUMNS = RANK_COLUMNS[:6] + [("挂牌督办", "listed", "int")]
# 回访率 and 满意率: in the headline and, per street and unit, after the score of the rankings.
FOLLOW_UP_COLUMNS: list[tuple[str, str, str]] = [
    ("回访率", "follow_up_rate", "rate"),
    ("满意率", "satisfaction_rate", "rate"),
]
HEADLINE += FOLLOW_UP_COLUMNS
RANK_COLUMNS += FOLLOW_UP_COLUMNS
# Return review (派单异议审核): returns, re-dispatches (改派) and dispatch accuracy beside the
# return rate; per group, re-dispatches beside the return rate (closeloop/reports/metrics/returns.py).
RETURN_REVIEW: list[tuple[str, str, str]] = [
    ("退单数", "returns", "int"),
    ("改派数", "redispatches", "int"),
    ("派遣准确率", "dispatch_accuracy", "rate"),
]
HEADLINE[7:7] = RETURN_REVIEW
RANK_COLUMNS[7:7] = RETURN_REVIEW[1:2]
# The 安全生产 section (content.Safety): its headline, over the section, and its street columns.
SAFETY_HEADLINE: list[tuple[str, str, str]] = [
    ("检查次数", "total.inspections", "int"),
    ("检查发现隐患", "total.hazards_found", "int"),
    ("重大事故隐患（本期发现）", "major.found", "int"),
    ("已整改销号", "major.rectified", "int"),
    ("重大隐患整改率", "major.rectification_rate", "rate"),
    ("以前各期发现本期销号", "major.rectified_earlier", "int"),
    ("挂牌督办公告", "major.listed", "int"),
    ("摘牌公告", "major.delisted", "int"),
    ("尚未整改销号（全部）", "major.open", "int"),
    ("风险点位", "risk_points_total", "int"),
    ("重大风险", "total.risk_points.major", "int"),
    ("较大风险", "total.risk_points.significant", "int"),
    ("一般风险", "total.risk_points.general", "int"),
    ("低风险", "total.risk_points.low", "int"),
    ("风险信息上报", "total.risk_reports", "int"),
    ("已审核", "total.risk_reviewed", "int"),
    ("审核率", "total.review_rate", "rate"),
]
SAFETY_COLUMNS: list[tuple[str, str, str]] = [
    ("检查次数", "inspections", "int"),
    ("发现隐患", "hazards_found", "int"),
    ("重大风险", "risk_points.major", "int"),
    ("较大风险", "risk_points.significant", "int"),
    ("一般风险", "risk_points.general", "int"),
    ("低风险", "risk_points.low", "int"),
    ("风险信息上报", "risk_reports", "int"),
    ("已审核", "risk_reviewed", "int"),
    ("审核率", "review_rate", "rate"),
]


def value(metrics: Any, path: str) -> Any:
    """A figure by dotted field name: "closure_rate", "letters.warning" (of Metrics, or of the
    safety section: "major.found")."""
    out: Any = metrics
    for part in path.split("."):
        out = getattr(out, part)
    return out


def show(metrics: Any, path: str, fmt: str) -> str:
    """A figure as a document shows it: 31,263 / 97.93% / 2.35 / —."""
    v = value(metrics, path)
    if fmt == "rate":
        return percent(v)
    if fmt in ("days", "score"):
        return number(v, 2)
    return number(v)


def method(r: Ranking) -> str:
    """How the ranking was made, in Chinese: documents are read in Chinese."""
    return ranking.method(min_accepted=r.min_accepted, behind_score=r.behind_score).zh


def rank_label(group: GroupMetrics) -> str:
    if group.rank is None:
        return DASH
    return f"{group.rank}（并列）" if group.tied else str(group.rank)


def definitions(content: "Content") -> list[str]:
    """What each backlog figure counts and at which moment, in the report's own words: the same
    sentences in the report, the XLSX and the 通报."""
    at = moment(content.as_of)
    return [
        f"统计时点：{at}（北京时间）。各项数据均按统计时点各案件所处状态、整改期限和挂牌情况计算，"
        "此后案件的办结、重新打开、延期、退回或挂牌不改变本报告数据。",
        f"超期未办结：{content.period.label}结束前（且统计时点前）上报的安全隐患和网格事件中，"
        "截至统计时点处于待签收或整改中、且已超过整改期限的案件（含以前各期上报尚未办结的案件；"
        "挂起和待核查期间整改时限暂停，不计超期）。",
        f"挂牌督办：{content.period.label}结束前（且统计时点前）上报、截至统计时点已挂牌督办且尚未"
        "办结的案件（含以前各期上报的案件）。",
    ]


def safety_definitions(content: "Content") -> list[str]:
    """What the 安全生产 figures count, in the report's and the XLSX's own words."""
    return [
        "检查次数：检查时间在本期内（且不晚于统计时点）的安全生产检查；检查发现隐患：这些检查中"
        "不合格的检查项，每项均作为安全隐患立案。",
        "重大事故隐患：本期发现为本期上报、截至统计时点未作不予立案或合并处理的重大事故隐患，"
        "已整改销号为其中截至统计时点已办结的；以前各期发现本期销号为本期以前上报、在本期内办结的；"
        "尚未整改销号为本期结束前上报、截至统计时点仍未办结的全部重大事故隐患（含以前各期发现的）；"
        "挂牌督办公告、摘牌公告为本期内（且统计时点前）发布的公告。",
        "风险点位：截至统计时点已登记且有效的风险点位，按风险等级（重大、较大、一般、低）统计；"
        "审核率 = 已审核条数 ÷ 风险信息上报条数，上报条数为本期上报的风险信息，已审核为其中截至统计时点"
        "已审核（通过或退回）的。",
    ]


def period_span(content: "Content") -> str:
    p = content.period
    return f"{cn_date(p.start)}至{cn_date(p.end)}"


@lru_cache(maxsize=1)
def env() -> Environment:
    environment = document_env("closeloop.reports")
    environment.filters.update(
        percent=percent,
        number=number,
        method=method,
        cn_date=cn_date,
        cn_time=cn_time,
        rank=rank_label,
        moment=moment,
    )
    environment.globals.update(show=show, value=value, DASH=DASH)
    environment.globals.update(emergency_sentence=emergency.sentence)  # 紧急信息
    environment.globals.update(follow_up_sentence=followups.sentence)  # 回访率, 满意率
    return environment


def charts(content: "Content") -> dict[str, Markup]:
    streets = content.by["street"].groups
    units = content.by["unit"].groups
    labels = [p.key for p, _ in content.trend]
    return {
        "streets": bar_chart(
            [(g.name, g.closure_rate) for g in streets if g.key is not None],
            title="各街道办结率",
        ),
        "overdue_units": bar_chart(
            sorted(
                ((g.name, float(g.overdue_open)) for g in units if g.key is not None),
                key=lambda row: -(row[1] or 0),
            ),
            title="各处置单位超期未办结（件）",
            percent=False,
        ),
        "trend": line_chart(
            labels,
            [
                ("办结率", [m.closure_rate for _, m in content.trend]),
                ("按期办结率", [m.on_time_closure_rate for _, m in content.trend]),
            ],
            title="办结率趋势",
        ),
        "trend_counts": bar_chart(
            [(p.key, float(m.reported)) for p, m in content.trend],
            title="上报数趋势（件）",
            percent=False,
        ),
    }


def context(content: "Content") -> dict[str, Any]:
    return {
        "c": content,
        "span": period_span(content),
        "headline": HEADLINE,
        "rank_columns": RANK_COLUMNS,
        "trend_columns": TREND_COLUMNS,
        "charts": charts(content),
        "definitions": definitions(content),
        "safety_headline": SAFETY_HEADLINE,
        "safety_columns": SAFETY_COLUMNS,
        "safety_definitions": safety_definitions(content),
        "sections": [
            ("street", "街道排名"),
            ("community", "社区排名"),
            ("grid", "网格排名"),
            ("unit", "处置单位排名"),
        ],
    }


def render_html(content: "Content") -> str:
    return env().get_template("report.html").render(**context(content))
