"""Enumerations shared by the tables, the services and the API."""

from enum import StrEnum


class Role(StrEnum):
    reporter = "reporter"
    dispatcher = "dispatcher"
    handler = "handler"
    supervisor = "supervisor"
    admin = "admin"


class RegionLevel(StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"


class CaseKind(StrEnum):
    event = "event"
    hazard = "hazard"
    letter = "letter"


class Grade(StrEnum):
    general = "general"
    major = "major"


class CaseState(StrEnum):
    reported = "reported"
    dispatched = "dispatched"
    rectifying = "rectifying"
    suspended = "suspended"
    verifying = "verifying"
    closed = "closed"
    cancelled = "cancelled"

    @classmethod
    def open_states(cls) -> tuple["CaseState", ...]:
        """States in which a case still needs work (counted as 未办结)."""
        return (cls.reported, cls.dispatched, cls.rectifying, cls.suspended, cls.verifying)

    @classmethod
    def closed_states(cls) -> tuple["CaseState", ...]:
        return (cls.closed, cls.cancelled)

    @classmethod
    def clock_running_states(cls) -> tuple["CaseState", ...]:
        """States in which the unit's rectification deadline runs: suspension stops the clock,
        and so does submitting (verification has its own deadline, verify_due_at)."""
        return (cls.dispatched, cls.rectifying)

    @classmethod
    def dispatched_states(cls) -> tuple["CaseState", ...]:
        """States in which a unit holds the case and a deadline runs."""
        return (cls.dispatched, cls.rectifying, cls.suspended, cls.verifying)


class Action(StrEnum):
    dispatch = "dispatch"
    cancel = "cancel"
    merge = "merge"
    return_ = "return"
    sign = "sign"
    request_suspension = "request_suspension"
    reject_suspension = "reject_suspension"
    suspend = "suspend"
    resume = "resume"
    submit = "submit"
    approve = "approve"
    reject = "reject"
    reopen = "reopen"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    reject_extension = "reject_extension"
    # A letter case ends when its letter is withdrawn (作废): taken by the letters service only.
    withdraw = "withdraw"
    # 回访: a closed event asked after (a record); an unsatisfied answer makes the system take
    # `rework` (重办) at once, in the same transaction — never by hand.
    follow_up = "follow_up"
    rework = "rework"
    # Return review (派单异议审核) and re-dispatch (改派).
    request_return = "request_return"
    approve_return = "approve_return"
    reject_return = "reject_return"
    redispatch = "redispatch"


class HistoryAction(StrEnum):
    """What a history entry records besides the lifecycle actions (whose entries carry the
    Action's value)."""

    file = "file"  # reported (上报)
    import_ = "import"  # from a ledger
    issue = "issue"  # a letter case opened by its letter
    letter = "letter"  # a letter covers the case
    letter_withdrawn = "letter_withdrawn"  # a letter covering it was withdrawn (作废)
    list_ = "list"  # 挂牌督办
    unlist = "unlist"  # 撤销挂牌督办
    plan = "plan"  # a major hazard's 五到位 rectification plan
    recheck = "recheck"  # a supervisor's re-inspection (复查) of a major hazard
    notice = "notice"  # a listing or delisting notice published (挂牌 / 摘牌公告)
    task_sign = "task_sign"  # an assisting unit signed its task (协办签收)
    task_complete = "task_complete"  # an assisting unit completed its task (协办完成)
    task_waive = "task_waive"  # the desk waived an assisting unit's task (协办免除)


class RequestType(StrEnum):
    extension = "extension"
    suspension = "suspension"
    return_ = "return"  # 退单申请: a unit that returned the case once asks to return it again


class RequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class LetterType(StrEnum):
    reminder = "reminder"  # 提醒函
    supervision = "supervision"  # 督办函
    warning = "warning"  # 警示函


class Channel(StrEnum):
    email = "email"
    webhook = "webhook"
    inapp = "inapp"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    # A robot message held back by the robot's rate limit and folded into a digest message
    # (folded_into_id): it becomes sent (or failed) with the digest.
    folded = "folded"


class EscalationLevel(StrEnum):
    """A step of the escalation ladder, in the order of LADDER: notices (临期提醒, 催办, 核查超期,
    督办件反馈逾期) and the three letters (提醒函 → 督办函 → 警示函, each superseding the last)."""

    due_soon = "due_soon"
    sign_overdue = "sign_overdue"
    reminder = "reminder"
    supervision = "supervision"
    warning = "warning"
    verify_overdue = "verify_overdue"
    reply_overdue = "reply_overdue"  # a letter case's reply is late (not a ladder step)

    @classmethod
    def ladder(cls) -> tuple["EscalationLevel", ...]:
        """The levels a policy configures, in firing order."""
        return (
            cls.due_soon,
            cls.sign_overdue,
            cls.reminder,
            cls.supervision,
            cls.warning,
            cls.verify_overdue,
        )

    @classmethod
    def letter_levels(cls) -> tuple["EscalationLevel", ...]:
        """Levels that issue a letter, mildest first (a higher one supersedes a lower)."""
        return (cls.reminder, cls.supervision, cls.warning)

    @classmethod
    def switch_levels(cls) -> tuple["EscalationLevel", ...]:
        """Levels a policy turns on or off (no day count)."""
        return (cls.sign_overdue, cls.verify_overdue)

    @classmethod
    def unit_notice_levels(cls) -> tuple["EscalationLevel", ...]:
        """Notices sent to the unit holding the case."""
        return (cls.due_soon, cls.sign_overdue, cls.reply_overdue)


class JobStatus(StrEnum):
    """How a run of a scheduled job (job_run) ended, or that it has not yet."""

    running = "running"
    ok = "ok"
    failed = "failed"
    crashed = "crashed"  # its heartbeat stopped: the process was killed or its machine lost


class ReportStatus(StrEnum):
    generating = "generating"  # the row exists, its files are being written
    ready = "ready"
    failed = "failed"  # generation stopped; `error` says why, and no file is offered


class EnterpriseKind(StrEnum):
    enterprise = "enterprise"  # 生产经营单位: has a unified social credit code
    place = "place"  # 场所 (a market, a building, a construction site): has none


class RiskLevel(StrEnum):
    """风险等级, most severe first: 重大 / 较大 / 一般 / 低 (red / orange / yellow / blue)."""

    major = "major"
    significant = "significant"
    general = "general"
    low = "low"


class ItemResult(StrEnum):
    pass_ = "pass"
    fail = "fail"
    na = "na"


class RecheckResult(StrEnum):
    pass_ = "pass"
    fail = "fail"


class NoticeType(StrEnum):
    listing = "listing"  # 挂牌督办公告
    delisting = "delisting"  # 摘牌公告


class RiskReportState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"


class TaskState(StrEnum):
    """An assisting unit's task (协办任务) on a co-handled case (主办/协办)."""

    open = "open"
    signed = "signed"
    done = "done"
    waived = "waived"


class Satisfaction(StrEnum):
    """The answer of a follow-up (回访): 满意 / 基本满意 / 不满意."""

    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    unsatisfied = "unsatisfied"


class FollowUpChannel(StrEnum):
    on_site = "on_site"  # the grid worker who filed it, at the place
    desk = "desk"  # the desk, by telephone


class WebhookKind(StrEnum):
    """Which group robot a webhook URL belongs to: each has its own message format, signing and
    rate limit."""

    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    generic = "generic"
