"""The names people read for the system's values, in one place.

Pages and notices name states, actions, roles and kinds in the reader's language (`STATE`,
`ACTION`, ...); documents (reports, 通报, letters) are read in Chinese and use the wording of
official documents, which differs on purpose for a few values (`DOC_STATE`: a reported case is
待派遣 in a report, 待受理 on a page). The page dictionary (api/web/i18n.py) takes its
`state.*`, `act.*`, `role.*`, ... entries from here.
"""

from closeloop.text import Msg
from models.enums import (
    Action,
    CaseKind,
    CaseState,
    EscalationLevel,
    Grade,
    LetterType,
    RegionLevel,
    RequestType,
    RiskLevel,
    RiskReportState,
    Role,
)

ROLE: dict[Role, Msg] = {
    Role.reporter: Msg("网格员", "Grid worker"),
    Role.dispatcher: Msg("受理派遣", "Dispatcher"),
    Role.handler: Msg("处置单位", "Department"),
    Role.supervisor: Msg("督办", "Supervisor"),
    Role.admin: Msg("管理员", "Administrator"),
}

REGION_LEVEL: dict[RegionLevel, Msg] = {
    RegionLevel.district: Msg("区", "district"),
    RegionLevel.street: Msg("街道", "street"),
    RegionLevel.community: Msg("社区", "community"),
    RegionLevel.grid: Msg("网格", "grid"),
}

STATE: dict[CaseState, Msg] = {
    CaseState.reported: Msg("待受理", "Reported"),
    CaseState.dispatched: Msg("待签收", "Dispatched"),
    CaseState.rectifying: Msg("整改中", "Rectifying"),
    CaseState.suspended: Msg("已挂起", "Suspended"),
    CaseState.verifying: Msg("待核查", "Verifying"),
    CaseState.closed: Msg("已办结", "Closed"),
    CaseState.cancelled: Msg("已撤销", "Cancelled"),
}

KIND: dict[CaseKind, Msg] = {
    CaseKind.event: Msg("网格事件", "Event"),
    CaseKind.hazard: Msg("隐患", "Hazard"),
    CaseKind.letter: Msg("督办件", "Letter"),
}

GRADE: dict[Grade, Msg] = {
    Grade.general: Msg("一般隐患", "General"),
    Grade.major: Msg("重大事故隐患", "Major"),
}

LETTER_TYPE: dict[LetterType, Msg] = {
    LetterType.reminder: Msg("提醒函", "Reminder"),
    LetterType.supervision: Msg("督办函", "Supervision letter"),
    LetterType.warning: Msg("警示函", "Warning letter"),
}

REQUEST_TYPE: dict[RequestType, Msg] = {
    RequestType.extension: Msg("延期申请", "Extension request"),
    RequestType.suspension: Msg("挂起申请", "Suspension request"),
    RequestType.return_: Msg("退单申请", "Return request"),
}

# What a history entry or a button says; the entries after the case actions are written by the
# system (filing, import, letters, listing) and appear in the timeline only.
ACTION: dict[str, Msg] = {
    Action.dispatch: Msg("派遣", "Dispatch"),
    Action.cancel: Msg("不予立案", "Cancel"),
    Action.merge: Msg("合并", "Merge"),
    Action.return_: Msg("退单", "Return"),
    Action.sign: Msg("签收", "Sign"),
    Action.request_suspension: Msg("申请挂起", "Request suspension"),
    Action.reject_suspension: Msg("驳回挂起", "Refuse suspension"),
    Action.suspend: Msg("挂起", "Suspend"),
    Action.resume: Msg("恢复", "Resume"),
    Action.submit: Msg("提交整改", "Submit rectification"),
    Action.approve: Msg("核查通过", "Approve"),
    Action.reject: Msg("核查不通过（返工）", "Reject (rework)"),
    Action.reopen: Msg("重新打开", "Reopen"),
    Action.request_extension: Msg("申请延期", "Request extension"),
    Action.approve_extension: Msg("批准延期", "Approve extension"),
    Action.reject_extension: Msg("驳回延期", "Refuse extension"),
    Action.withdraw: Msg("函件作废，督办件撤销", "Letter withdrawn: letter case closed"),
    Action.request_return: Msg("申请退单", "Request return"),
    Action.approve_return: Msg("批准退单", "Grant return"),
    Action.reject_return: Msg("驳回退单", "Refuse return"),
    Action.redispatch: Msg("改派", "Re-dispatch"),
    "file": Msg("上报", "Filed"),
    "import": Msg("导入", "Imported"),
    "letter": Msg("发函", "Letter issued"),
    "list": Msg("挂牌督办", "Listed for supervision"),
    "issue": Msg("签发督办件", "Letter case opened"),
    "letter_withdrawn": Msg("函件作废", "Letter withdrawn"),
    "unlist": Msg("撤销挂牌督办", "Unlisted"),
    "plan": Msg("提交五到位整改方案", "Rectification plan submitted"),
    "recheck": Msg("复查", "Re-inspected"),
    "notice": Msg("发布公告", "Notice published"),
}

# Escalation notices: the name on the dashboard's preview, and the subject of the notice sent.
LEVEL: dict[EscalationLevel, Msg] = {
    EscalationLevel.due_soon: Msg("临期提醒", "Due soon"),
    EscalationLevel.sign_overdue: Msg("签收超期催办", "Signing overdue"),
    EscalationLevel.verify_overdue: Msg("核查超期", "Verification overdue"),
    EscalationLevel.reply_overdue: Msg("督办件反馈逾期", "Letter reply overdue"),
}
NOTICE_SUBJECT: dict[EscalationLevel, Msg] = {
    EscalationLevel.due_soon: Msg("临期提醒", "due soon"),
    EscalationLevel.sign_overdue: Msg("催办：签收超期", "signing overdue"),
    EscalationLevel.verify_overdue: Msg("核查超期", "verification overdue"),
    EscalationLevel.reply_overdue: Msg("督办件反馈逾期", "letter reply overdue"),
}

# --- documents (Chinese, official wording) ------------------------------------------------

DOC_STATE: dict[CaseState, str] = {
    CaseState.reported: "待派遣",
    CaseState.dispatched: "待签收",
    CaseState.rectifying: "整改中",
    CaseState.suspended: "已挂起",
    CaseState.verifying: "待核查",
    CaseState.closed: "已办结",
    CaseState.cancelled: "不予立案",
}
DOC_KIND: dict[CaseKind, str] = {
    CaseKind.event: "事件",
    CaseKind.hazard: "隐患",
    CaseKind.letter: "督办件",
}
# The kind as a metrics group names it (统计报表 by kind).
METRIC_KIND: dict[str, str] = {"event": "网格事件", "hazard": "安全隐患", "letter": "督办件"}
# What a letter calls the matters it covers.
LETTER_NOUN: dict[CaseKind, str] = {
    CaseKind.hazard: "隐患",
    CaseKind.event: "事件",
    CaseKind.letter: "督办事项",
}
DOC_LETTER_TYPE: dict[LetterType, str] = {t: m.zh for t, m in LETTER_TYPE.items()}

# --- input fields -----------------------------------------------------------------------
# What a refused input names (api/validation.py): a request body's or form's field by its label,
# and the unit its numbers count in.
FIELD: dict[str, Msg] = {
    "title": Msg("标题", "Title"),
    "description": Msg("描述", "Description"),
    "address": Msg("地址", "Address"),
    "category_code": Msg("类别", "Category"),
    "grid_code": Msg("网格", "Grid"),
    "kind": Msg("类型", "Kind"),
    "grade": Msg("隐患等级", "Grade"),
    "urgent": Msg("紧急", "Urgent"),
    "location": Msg("位置", "Location"),
    "lat": Msg("纬度", "Latitude"),
    "lon": Msg("经度", "Longitude"),
    "note": Msg("说明", "Note"),
    "reason": Msg("原因", "Reason"),
    "version": Msg("版本", "Version"),
    "unit_code": Msg("处置单位", "Unit"),
    "due_at": Msg("整改期限", "Deadline"),
    "limit_days": Msg("整改时限", "Time limit"),
    "days": Msg("延期天数", "Extension days"),
    "attachment_ids": Msg("附件", "Attachments"),
    "target_case_id": Msg("目标案件", "Target case"),
    "case_ids": Msg("案件", "Cases"),
    "type": Msg("类型", "Type"),
    "reply_due_at": Msg("反馈期限", "Reply deadline"),
    "bulletin_number": Msg("通报文号", "Bulletin number"),
    "code": Msg("编码", "Code"),
    "name": Msg("名称", "Name"),
    "short_name": Msg("简称", "Short name"),
    "parent_code": Msg("上级编码", "Parent code"),
    "level": Msg("层级", "Level"),
    "region_code": Msg("区域", "Region"),
    "sign_hours": Msg("签收时限", "Signing limit"),
    "email": Msg("邮箱", "Email"),
    "head_email": Msg("负责人邮箱", "Head's email"),
    "webhook_url": Msg("群机器人地址", "Webhook URL"),
    "username": Msg("用户名", "Username"),
    "password": Msg("密码", "Password"),
    "display_name": Msg("姓名", "Display name"),
    "role": Msg("角色", "Role"),
    "active": Msg("启用", "Active"),
    "cadence": Msg("报告周期", "Cadence"),
    "period": Msg("报告期", "Period"),
    "as_of": Msg("统计时点", "Report time"),
    "day": Msg("日期", "Day"),
    "workday": Msg("是否工作日", "Working day"),
    "page": Msg("页码", "Page"),
    "page_size": Msg("每页条数", "Page size"),
    "state": Msg("状态", "State"),
    "q": Msg("关键字", "Keyword"),
    "file": Msg("文件", "File"),
}
FIELD_UNIT: dict[str, Msg] = {
    "limit_days": Msg("个工作日", " working days"),
    "days": Msg("个工作日", " working days"),
    "sign_hours": Msg("小时", " hours"),
}

# The enterprise and place register (一企一档): its fields and kinds.
FIELD.update(
    {
        "credit_code": Msg("统一社会信用代码", "Credit code"),
        "industry": Msg("行业", "Industry"),
        "scale": Msg("规模", "Scale"),
        "risk_level": Msg("风险等级", "Risk level"),
        "contact_name": Msg("责任人", "Responsible person"),
        "contact_phone": Msg("联系电话", "Phone"),
        "enterprise_code": Msg("企业/场所", "Enterprise or place"),
    }
)
ENTERPRISE_KIND: dict[str, Msg] = {
    "enterprise": Msg("企业", "Enterprise"),
    "place": Msg("场所", "Place"),
}

# The risk register (风险分级管控): a risk point's level, as the pages colour it (红橙黄蓝), and a
# risk report's review state.
RISK_LEVEL: dict[RiskLevel, Msg] = {
    RiskLevel.major: Msg("重大风险", "Major"),
    RiskLevel.significant: Msg("较大风险", "Significant"),
    RiskLevel.general: Msg("一般风险", "General"),
    RiskLevel.low: Msg("低风险", "Low"),
}
RISK_REPORT_STATE: dict[RiskReportState, Msg] = {
    RiskReportState.pending: Msg("待审核", "Pending review"),
    RiskReportState.approved: Msg("已通过", "Approved"),
    RiskReportState.rejected: Msg("已退回", "Rejected"),
}
FIELD.update(
    {
        "risk_point_code": Msg("风险点位", "Risk point"),
        "enterprise_code": Msg("企业/场所", "Enterprise or place"),
        "measures": Msg("管控措施", "Control measures"),
        "content": Msg("上报内容", "Report"),
        "decision": Msg("审核结论", "Decision"),
    }
)

NOTICE_TYPE: dict[str, Msg] = {
    "listing": Msg("挂牌督办公告", "Listing notice"),
    "delisting": Msg("摘牌公告", "Delisting notice"),
}
RECHECK_RESULT: dict[str, Msg] = {
    "pass": Msg("合格", "Passed"),
    "fail": Msg("不合格", "Failed"),
}
PLAN_FIELD: dict[str, Msg] = {
    "measures": Msg("措施", "measures"),
    "funds": Msg("资金", "funds"),
    "responsible": Msg("责任人", "responsible person"),
    "deadline": Msg("时限", "deadline"),
    "emergency_plan": Msg("应急预案", "emergency plan"),
}

# Follow-up (回访) and the rework it may cause (重办).
ACTION.update(
    {
        "follow_up": Msg("回访", "Follow up"),
        "rework": Msg("回访不满意，重办", "Rework after an unsatisfied follow-up"),
    }
)
SATISFACTION: dict[str, Msg] = {
    "satisfied": Msg("满意", "Satisfied"),
    "basically_satisfied": Msg("基本满意", "Basically satisfied"),
    "unsatisfied": Msg("不满意", "Unsatisfied"),
}
FOLLOW_UP_CHANNEL: dict[str, Msg] = {
    "on_site": Msg("网格员现场回访", "On site, by the grid worker"),
    "desk": Msg("受理席回访", "By the desk"),
}
# Co-handling (主办/协办): an assisting unit's task and its history entries.
TASK_STATE: dict[str, Msg] = {
    "open": Msg("待签收", "Open"),
    "signed": Msg("办理中", "Signed"),
    "done": Msg("已完成", "Done"),
    "waived": Msg("已免除", "Waived"),
}
TASK_ACTION: dict[str, Msg] = {
    "sign": Msg("协办签收", "Sign task"),
    "complete": Msg("协办完成", "Complete task"),
    "waive": Msg("免除协办", "Waive task"),
}
ACTION.update(
    {
        "task_sign": Msg("协办单位签收", "Assisting unit signed"),
        "task_complete": Msg("协办单位完成", "Assisting unit done"),
        "task_waive": Msg("免除协办任务", "Assisting task waived"),
    }
)
