"""The figures leadership reads (DESIGN.md, Metrics): one `Metrics` per group and one in total.

Rates are decimals in [0, 1], or None where their denominator is zero: a group with no accepted
cases has no closure rate (documents show "—"), never 0 and never a division error.
"""

from datetime import date

from pydantic import BaseModel, Field

from models.types import LocalTime


class LetterCounts(BaseModel):
    reminder: int = 0  # 提醒函
    supervision: int = 0  # 督办函
    warning: int = 0  # 警示函
    total: int = 0


class RiskPointCounts(BaseModel):
    """Active risk points at the report time by level (风险分级管控)."""

    major: int = 0  # 重大
    significant: int = 0  # 较大
    general: int = 0  # 一般
    low: int = 0  # 低


class ReturnRequestCounts(BaseModel):
    """Return requests (退单申请, return review) made in the cohort by the report time."""

    requested: int = 0
    granted: int = 0  # 批准: counted among the returns too
    refused: int = 0  # 驳回


class Metrics(BaseModel):
    reported: int = 0  # 上报数: filed in the period
    cancelled: int = 0  # 不予立案/合并 of those
    accepted: int = 0  # 立案数 = reported − cancelled
    closed: int = 0  # 办结数: accepted and closed by the report time
    closure_rate: float | None = None  # 办结率 = closed / accepted
    on_time_closed: int = 0  # closed no later than the (extended) deadline
    on_time_closure_rate: float | None = None  # 按期办结率 = on_time_closed / accepted
    overdue_open: int = 0  # 超期未办结 at the report time (the whole backlog of the group)
    dispatches: int = 0
    returns: int = 0  # 退单
    return_rate: float | None = None  # 退单率 = returns / dispatches
    dispatch_accuracy: float | None = None  # 派遣准确率 = 1 − return_rate
    submissions: int = 0
    rejections: int = 0  # 返工
    rework_rate: float | None = None  # 返工率 = rejections / submissions
    signed_on_time: int = 0
    sign_on_time_rate: float | None = None  # 按时签收率 = signed_on_time / dispatches
    handling_closed: int = 0  # closed cases with a dispatch time (the handling-time sample)
    handling_days_median: float | None = None  # working days, dispatch → close
    handling_days_mean: float | None = None
    letters: LetterCounts = Field(default_factory=LetterCounts)  # issued in the period
    listed: int = 0  # 挂牌督办: listed cases still open at the report time
    score: float | None = None  # 综合指标, 0–100; None when no component has a value
    # The safety-production side (closeloop/reports/metrics/safety.py); not part of the score.
    inspections: int = 0  # 检查: inspections held (at) in the period
    hazards_found: int = 0  # failed items of those inspections, each filed as a hazard
    risk_reports: int = 0  # 风险信息上报: reports filed in the period
    risk_reviewed: int = 0  # of those, reviewed (approved or rejected) by the report time
    review_rate: float | None = None  # 审核率 = risk_reviewed / risk_reports
    risk_points: RiskPointCounts = Field(
        default_factory=RiskPointCounts
    )  # active at the report time
    # Follow-up (回访, closeloop/reports/metrics/followups.py): events closed in the period.
    closed_events: int = 0  # 办结事件: events closed within the period, by the report time
    followed_up: int = 0  # of those, followed up by the report time
    follow_up_rate: float | None = None  # 回访率 = followed_up / closed_events
    satisfied: int = 0  # of the followed-up, latest answer satisfied or basically satisfied
    satisfaction_rate: float | None = None  # 满意率 = satisfied / followed_up
    # Return review (closeloop/reports/metrics/returns.py): re-dispatches (改派) count against
    # dispatch accuracy: (dispatches − returns − redispatches) / dispatches.
    redispatches: int = 0
    return_requests: ReturnRequestCounts = Field(default_factory=ReturnRequestCounts)
    # Co-handling (closeloop/reports/metrics/tasks.py): the assisting units' tasks; not scored.
    assist_tasks: int = 0  # 协办任务: opened in the period, not waived by the report time
    assist_signed_on_time: int = 0  # signed by the report time and by the sign deadline
    assist_sign_on_time_rate: float | None = None  # 协办按时签收率
    assist_done_on_time: int = 0  # completed by the report time and by the due time
    assist_done_on_time_rate: float | None = None  # 协办按时完成率
    # 紧急信息 (closeloop/reports/metrics/emergency.py): the total only; groups keep 0 / None.
    emergencies: int = 0  # filed in the period as emergencies (urgent or an emergency category)
    emergency_alerted: int = 0  # of those, with a pushed notice delivered by the report time
    emergency_alert_median_minutes: float | None = None  # filing → first pushed notice delivered
    emergency_alerted_within_30m: int = 0
    emergency_within_30m_rate: float | None = None  # 30分钟内送达率 = within_30m / emergencies


class GroupMetrics(Metrics):
    key: str | None  # the unit/region/category code or the kind; None: "not dispatched" etc.
    name: str
    rank: int | None = None  # 1 = best; None: no score, or fewer accepted cases than the minimum
    tied: bool = False  # shares its rank with another group
    behind: bool = False  # 排名靠后 (建议约谈): see Ranking.method


class Ranking(BaseModel):
    weights: dict[str, float]
    method: str  # how the score is built and how ties are ranked, in words (zh / en)
    min_accepted: int = 1  # accepted cases a group needs to be ranked
    behind_score: float = 0.0  # below this (or below mean_score) a ranked group is behind
    mean_score: float | None = None  # the plain mean of the ranked groups' scores


class MetricsReport(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    as_of: LocalTime  # the report time: closures and overdue are counted up to it
    kind: str | None  # the kind filter; None: events and hazards (letters are counted apart)
    group_by: str | None
    region_code: str | None = None
    total: Metrics
    groups: list[GroupMetrics]
    ranking: Ranking

    model_config = {"populate_by_name": True}


class MajorHazards(BaseModel):
    """The major-hazard statistic (重大事故隐患挂牌督办) of a period, as of the report time
    (closeloop/reports/metrics/major.py)."""

    from_: date = Field(serialization_alias="from")
    to: date
    as_of: LocalTime
    region_code: str | None = None
    found: int = 0  # major hazards reported in the period (not cancelled or merged by T)
    rectified: int = 0  # of those, closed (销号) by the report time
    rectification_rate: float | None = None  # rectified / found
    rectified_earlier: int = 0  # major hazards found before the period, closed in it
    listed: int = 0  # listing notices (挂牌公告) published in the period, by T
    delisted: int = 0  # delisting notices (摘牌公告) published in the period, by T
    open: int = 0  # major hazards reported before the period's end and open at T (any period)

    model_config = {"populate_by_name": True}
