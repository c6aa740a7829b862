"""Chinese first, English available: one dictionary, `t(key)` in the templates.

The names of states, actions, roles, kinds and escalation levels come from closeloop/labels.py
(the one place they are written); the page's own words are below.
"""

from collections.abc import Callable

from api.web.i18n_admin import TEXTS as ADMIN_TEXTS
from api.web.i18n_enterprises import TEXTS as ENTERPRISE_TEXTS
from api.web.i18n_followup import TEXTS as FOLLOW_UP_TEXTS
from api.web.i18n_inspections import TEXTS as INSPECTION_TEXTS
from api.web.i18n_map import TEXTS as MAP_TEXTS
from api.web.i18n_offline import TEXTS as OFFLINE_TEXTS
from api.web.i18n_returns import TEXTS as RETURN_TEXTS
from api.web.i18n_risk import TEXTS as RISK_TEXTS
from closeloop import labels
from closeloop.text import Msg

LANGS = ("zh", "en")
DEFAULT = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

T: dict[str, tuple[str, str]] = {
    "app": ("闭环 · 隐患整改与网格事件", "Closeloop · hazard and grid-event tracking"),
    "brand": ("闭环", "Closeloop"),
    "skip": ("跳到正文", "Skip to content"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login.title": ("登录闭环系统", "Log in to Closeloop"),
    "lang.switch": ("English", "中文"),
    "nav.main": ("主导航", "Main"),
    "nav.report": ("上报事件", "Report"),
    "nav.my": ("我的上报", "My reports"),
    "nav.queue": ("受理派遣", "Dispatch queue"),
    "nav.worklist": ("待办", "Work list"),
    "nav.dashboard": ("督办看板", "Dashboard"),
    "nav.cases": ("案件", "Cases"),
    "nav.letters": ("函件", "Letters"),
    # actions: button labels
    "done": ("操作成功", "done"),
    "colon": ("：", ": "),
    "sep": ("、", ", "),
    "done.file": ("已上报，等待受理派遣", "Filed; waiting to be dispatched"),
    # fields
    "f.number": ("编号", "Number"),
    "f.version": ("页面版本（请刷新页面）", "The page's version (reload the page)"),
    "f.title": ("标题", "Title"),
    "f.description": ("描述", "Description"),
    "f.address": ("地址", "Address"),
    "f.category": ("类别", "Category"),
    "f.category_class": ("大类", "Class"),
    "f.category_item": ("小类", "Item"),
    "f.grid": ("网格", "Grid"),
    "f.kind": ("类型", "Kind"),
    "f.grade": ("等级", "Grade"),
    "f.state": ("状态", "State"),
    "f.unit": ("处置单位", "Unit"),
    "f.reported_at": ("上报时间", "Reported"),
    "f.dispatched_at": ("派遣时间", "Dispatched"),
    "f.sign_due_at": ("签收期限", "Sign by"),
    "f.signed_at": ("签收时间", "Signed"),
    "f.due_at": ("整改期限", "Deadline"),
    "f.verify_due_at": ("核查期限", "Verify by"),
    "f.closed_at": ("办结时间", "Closed"),
    "f.time_left": ("剩余时间", "Time left"),
    "f.listed": ("挂牌督办", "Listed for supervision"),
    "f.rework": ("返工次数", "Rework count"),
    "f.urgent": ("紧急", "Urgent"),
    "f.location": ("位置", "Location"),
    "f.reason": ("原因", "Reason"),
    "f.note": ("说明", "Note"),
    "f.days": ("工作日数", "Working days"),
    "f.limit_days": ("整改时限（工作日，留空按类别）", "Limit in working days (empty: category's)"),
    "f.due_date": ("或指定整改期限（日期）", "or a deadline (date)"),
    "f.target": ("合并到（疑似重复）", "Merge into (possible duplicate)"),
    "f.target_number": ("或输入案件编号", "or a case number"),
    "f.photos": ("现场照片（可多张）", "Photos (several allowed)"),
    "f.evidence": ("整改材料（照片或文件）", "Evidence (photos or a document)"),
    "f.reply_doc": ("反馈材料（整改报告等文件或照片）", "Reply (a report document or photos)"),
    "f.merged_into": ("已合并到", "Merged into"),
    "f.estimated": ("（按普通工作日估算）", "(estimated on plain weekdays)"),
    "f.actor": ("操作人", "By"),
    "f.requested": ("申请", "Requested"),
    "f.street": ("街道", "Street"),
    "choose": ("请选择", "Choose"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    # reporter
    "file.title": ("上报事件", "Report an event"),
    "file.locate": ("获取位置", "Use my location"),
    "file.located": ("已获取位置", "Location added"),
    "file.locate_failed": ("无法获取位置，可只填写地址", "No location; the address is enough"),
    "file.submit": ("提交上报", "Submit"),
    "file.hint": (
        "带 * 为必填。照片可直接用手机拍摄。",
        "* required. Photos can come from the camera.",
    ),
    "my.title": ("我的上报", "My reports"),
    "my.empty": ("还没有上报记录。", "Nothing reported yet."),
    "next": ("下一步", "Next"),
    "next.reported": ("等待受理派遣", "Waiting to be dispatched"),
    "next.dispatched": ("等待{unit}签收", "Waiting for {unit} to sign"),
    "next.rectifying": ("整改中，期限 {due}", "Being fixed, due {due}"),
    "next.rectifying_late": (
        "整改中，已超期（期限 {due}），正在催办",
        "Being fixed, overdue since {due}; being chased",
    ),
    "next.suspended": ("已挂起，暂停计时", "Suspended; the clock is paused"),
    "next.verifying": ("等待核查", "Waiting for verification"),
    "next.verify_me": ("待您核查", "Please verify"),
    "next.closed": ("已办结", "Closed"),
    "next.cancelled": ("已撤销（不予立案或合并）", "Cancelled (refused or merged)"),
    # handler
    "worklist.title": ("待办", "Work list"),
    "worklist.to_sign": ("待签收", "To sign"),
    "worklist.due_soon": ("即将到期", "Due soon"),
    "worklist.overdue": ("已超期", "Overdue"),
    "worklist.sign_late": ("签收已超时", "Signing overdue"),
    "worklist.other": ("其他在办", "Other open work"),
    "list.empty": ("暂无。", "Nothing here."),
    "left.days": ("剩 {n} 个工作日", "{n} working days left"),
    "left.n_days": ("{n} 个工作日", "{n} working days"),
    "left.today": ("今日到期", "Due today"),
    "left.overdue": ("超期 {n} 个工作日", "{n} working days overdue"),
    "left.overdue_today": ("已超期", "Overdue"),
    # dispatcher
    "queue.title": ("受理派遣", "Dispatch queue"),
    "queue.new": ("新上报", "New reports"),
    "queue.verify": ("待核查", "To verify"),
    "queue.duplicates": ("疑似重复", "Possible duplicates"),
    "queue.open": ("处理", "Open"),
    "phase.before": ("整改前", "Before"),
    "phase.after": ("整改后", "After"),
    "f.returned_by": ("退回单位", "Returned by"),
    "queue.returned": ("退单", "Returned"),
    "queue.returned_by": ("{unit}退回", "Returned by {unit}"),
    "queue.refused_default": (
        "该单位已退回此案件：{reason}",
        "This unit returned the case: {reason}",
    ),
    "done.return": ("已退回案件 {number}", "Case {number} returned"),
    "done.gone": ("{what}：已完成（案件 {number}）", "{what}: done (case {number})"),
    # supervisor
    "dash.title": ("督办看板", "Supervision dashboard"),
    "dash.period": ("本月 {from_} 至 {to}", "This month, {from_} to {to}"),
    "dash.closure_rate": ("办结率", "Closure rate"),
    "dash.on_time_rate": ("按期办结率", "On-time closure rate"),
    "dash.accepted": ("立案数", "Accepted"),
    "dash.closed": ("办结数", "Closed"),
    "dash.overdue": ("超期未办结", "Overdue, open"),
    "dash.by_street": ("各街道办结率", "Closure rate by street"),
    "dash.trend": ("近六个月办结率趋势", "Closure rate, last six months"),
    "dash.ranking": ("综合排名（街道）", "Ranking (streets)"),
    "dash.rank": ("名次", "Rank"),
    "dash.name": ("名称", "Name"),
    "dash.score": ("综合指标", "Score"),
    "dash.overdue_cases": (
        "超期案件（含逾期未反馈的督办件）",
        "Overdue cases (letters awaiting a late reply included)",
    ),
    "dash.listed_cases": ("挂牌督办案件", "Listed cases"),
    "dash.letters": ("已发函件", "Letters issued"),
    "dash.requests": ("待审批申请", "Requests to decide"),
    "dash.reports": ("周调度、月分析、季小结报告", "Weekly, monthly and quarterly reports"),
    "dash.no_reports": (
        "报告功能尚未启用，暂无报告。可在命令行运行 closeloop report 生成。",
        "Reports are not available yet; run `closeloop report` to make one.",
    ),
    "dash.no_metrics": ("统计暂不可用。", "Figures are not available yet."),
    "dash.suspended": ("已挂起案件", "Suspended cases"),
    "dash.to_verify": ("待您核查销号：{n} 件", "Waiting for your verification: {n}"),
    "dash.more": ("更多", "More"),
    "dash.preview": ("下次自动升级预览", "Next escalation run, preview"),
    "dash.preview_note": (
        "按当前时间运行升级督办将触发以下事项（仅为预览，尚未发出）。",
        "What an escalation run now would do (a preview: nothing is issued yet).",
    ),
    "dash.preview_counts": (
        "提醒函 {reminder} 份，督办函 {supervision} 份，警示函 {warning} 份，"
        "通知 {notifications} 条，挂牌督办 {listed} 件",
        "{reminder} reminder, {supervision} supervision and {warning} warning "
        "letters, {notifications} notifications, {listed} cases listed",
    ),
    "dash.preview_empty": ("当前没有到期需升级的事项。", "Nothing is due for escalation now."),
    "dash.preview_letters": ("将发函件", "Letters to issue"),
    "dash.preview_notices": ("将发通知", "Notifications to send"),
    # case page
    "case.fields": ("基本信息", "Details"),
    "case.photos": ("照片与材料", "Photos and documents"),
    "case.timeline": ("处理过程", "Timeline"),
    "case.evidence": ("材料", "Evidence"),
    "case.letters": ("相关函件", "Letters"),
    "case.actions": ("可执行操作", "What you can do"),
    "case.no_actions": ("当前没有您可执行的操作。", "Nothing for you to do now."),
    "case.pending": ("待审批", "Pending"),
    "cases.title": ("案件", "Cases"),
    "cases.search": ("搜索", "Search"),
    "cases.q": ("关键字（编号、标题、地址）", "Keyword (number, title, address)"),
    "cases.all": ("全部", "All"),
    "cases.total": ("共 {n} 件", "{n} cases"),
    "cases.prev": ("上一页", "Previous"),
    "cases.next": ("下一页", "Next"),
    "cases.filters": ("筛选案件", "Filter cases"),
    "cases.place": ("地点", "Place"),
    "cases.community": ("社区", "Community"),
    "cases.class_all": ("{name}（全部小类）", "{name} (all items)"),
    "cases.from": ("从", "From"),
    "cases.to": ("至", "To"),
    "cases.reported": ("上报日期", "Reported"),
    "cases.due": ("截止日期", "Due"),
    "cases.closed": ("办结日期", "Closed"),
    "cases.sort": ("排序", "Order"),
    "cases.sort_default": ("默认（最新上报在前）", "Default (newest first)"),
    "cases.sort.reported_at": ("上报时间 ↑", "Reported ↑"),
    "cases.sort.-reported_at": ("上报时间 ↓", "Reported ↓"),
    "cases.sort.due_at": ("截止时间 ↑", "Deadline ↑"),
    "cases.sort.-due_at": ("截止时间 ↓", "Deadline ↓"),
    "cases.sort.closed_at": ("办结时间 ↑", "Closed ↑"),
    "cases.sort.-closed_at": ("办结时间 ↓", "Closed ↓"),
    "cases.sort.dispatched_at": ("派遣时间 ↑", "Dispatched ↑"),
    "cases.sort.-dispatched_at": ("派遣时间 ↓", "Dispatched ↓"),
    "cases.export": ("导出 Excel", "Export to Excel"),
    "cases.reset": ("清除筛选", "Clear filters"),
    "cases.urgent": ("紧急", "Urgent"),
    "file.sending": ("提交中…", "Sending…"),
    "letters.title": ("函件", "Letters"),
    "letters.pdf": ("PDF", "PDF"),
    "letters.html": ("网页版", "HTML"),
    "letters.issued": ("发文日期", "Issued"),
    "letters.reply_due": ("反馈期限", "Reply by"),
    "letters.type": ("函件类型", "Letter type"),
    "letters.issue": ("发函", "Issue the letter"),
    "letters.preview": ("预览函件", "Preview the letter"),
    "letters.preview_title": ("函件预览", "Letter preview"),
    "letters.preview_note": (
        "以下是将要签发的函件（尚未编号、尚未签发）。确认无误后点击“确认签发”，签发时取得文号。",
        "This is the letter as it would be issued (not numbered, not issued yet). "
        "Confirm to issue it; it is numbered then.",
    ),
    "letters.confirm": ("确认签发", "Confirm and issue"),
    "letters.back": ("返回修改", "Back to edit"),
    "letters.reply_choose": ("反馈期限（可选）", "Reply by (optional)"),
    "letters.withdrawn": ("作废", "Withdrawn"),
    "letters.withdraw": ("作废", "Withdraw"),
    "letters.withdraw_reason": ("作废原因", "Reason for withdrawing"),
    "letters.withdraw_confirm": ("确认作废", "Withdraw the letter"),
    # messages
    "nav.messages": ("消息", "Messages"),
    "nav.file": ("登记案件", "New case"),
    "msg.title": ("站内消息", "Messages"),
    "msg.unread": ("只看未读", "Unread only"),
    "msg.read_all": ("全部标为已读", "Mark all read"),
    "msg.open": ("查看案件", "Open the case"),
    "msg.mark_read": ("标为已读", "Mark read"),
    # reports
    "nav.reports": ("报告", "Reports"),
    "reports.title": ("报告", "Reports"),
    "reports.report": ("报告", "Report"),
    "reports.generate": ("生成报告", "Generate a report"),
    "reports.cadence": ("报告类型", "Cadence"),
    "reports.period": ("报告期", "Period"),
    "reports.region": ("区域", "Region"),
    "reports.submit": ("生成报告", "Generate"),
    "reports.closed_only": (
        "只能选择已结束的报告期。报告连同通报一并生成，需要一点时间，生成期间页面会显示进度。",
        "Only a period that has ended can be chosen. The report is made with its bulletin "
        "(通报); this takes a moment, and the page shows the progress.",
    ),
    "reports.generated": ("生成时间", "Generated"),
    "reports.scheduled": ("定时生成", "by the schedule"),
    "reports.status": ("状态", "Status"),
    "reports.files": ("下载", "Downloads"),
    "reports.bulletin": ("通报", "Bulletin (通报)"),
    "reports.back": ("返回报告列表", "Back to the reports"),
    "reports.refresh": ("刷新", "Refresh"),
    "reports.progress_note": (
        "报告正在生成，本页会自动更新，也可以先离开，稍后在报告列表中查看。",
        "The report is being generated; this page updates itself. You may leave and find it "
        "in the reports list later.",
    ),
    "reports.regenerate": ("可在报告页面重新生成", "Generate it again from the reports page"),
    "dash.no_reports_yet": (
        "暂无报告，可在“报告”页面生成。",
        "No reports yet; generate one on the Reports page.",
    ),
    "dash.all_reports": ("全部报告与生成", "All reports, and generate one"),
    "rcad.weekly": ("周报", "Weekly"),
    "rcad.monthly": ("月报", "Monthly"),
    "rcad.quarterly": ("季报", "Quarterly"),
    "rcad.yearly": ("年报", "Yearly"),
    "rstatus.generating": ("生成中", "Generating"),
    "rstatus.ready": ("已生成", "Ready"),
    "rstatus.failed": ("生成失败", "Failed"),
    "rstep.metrics": ("计算指标", "Computing the figures"),
    "rstep.html": ("生成HTML", "Writing the HTML"),
    "rstep.pdf": ("生成PDF", "Writing the PDF"),
    "rstep.xlsx": ("生成Excel", "Writing the Excel workbook"),
    "rstep.bulletin": ("生成通报", "Writing the bulletin (通报)"),
    "rstep.done": ("完成", "Done"),
    # errors
    "err.title": ("出错了", "Something went wrong"),
    "err.required": ("请填写：{what}", "Please fill in: {what}"),
    "err.number": ("{what} 必须是 1–365 的整数", "{what} must be a whole number from 1 to 365"),
    "err.date": ("{what} 不是有效日期", "{what} is not a valid date"),
    "err.location": ("位置坐标无效", "The location is not valid"),
    "err.target": ("找不到案件 {what}", "No case {what}"),
    "back": ("返回", "Back"),
    "home": ("首页", "Home"),
    # changing one's own password (also required after an admin's reset)
    "pw.title": ("修改密码", "Change your password"),
    "pw.required": (
        "管理员重置了您的密码，请先设置您自己的新密码。",
        "An admin reset your password: choose your own before you continue.",
    ),
    "pw.old": ("原密码", "Current password"),
    "pw.new": ("新密码（至少 8 个字符）", "New password (at least 8 characters)"),
    "pw.repeat": ("再次输入新密码", "Repeat the new password"),
    "pw.submit": ("修改密码", "Change password"),
    "pw.mismatch": ("两次输入的新密码不一致", "The two new passwords differ"),
    "pw.done": ("密码已修改", "Your password was changed"),
    "act.password": ("修改密码", "Change password"),
}
for _prefix, _table in (
    ("role", labels.ROLE),
    ("state", labels.STATE),
    ("kind", labels.KIND),
    ("grade", labels.GRADE),
    ("letter", labels.LETTER_TYPE),
    ("req", labels.REQUEST_TYPE),
    ("act", labels.ACTION),
    ("esc", labels.LEVEL),
):
    T.update({f"{_prefix}.{key}": (m.zh, m.en) for key, m in _table.items()})
T.update(ADMIN_TEXTS)
T.update(ENTERPRISE_TEXTS)
T.update(INSPECTION_TEXTS)
T.update(MAP_TEXTS)
T.update(RISK_TEXTS)
T.update(FOLLOW_UP_TEXTS)
T.update(RETURN_TEXTS)


def translate(lang: str, key: str, **kw: object) -> str:
    pair = T.get(key)
    if pair is None:
        return key.split(".", 1)[-1]
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**kw) if kw else text


def translator(lang: str) -> Callable[..., str]:
    def t(key: str, **kw: object) -> str:
        return translate(lang, key, **kw)

    return t


def msg(key: str, **kw: "Msg | object") -> Msg:
    """An entry as a Msg (for an error a page raises); a Msg value fills each language's half."""
    zh, en = T[key]
    return Msg(zh, en).format(**kw) if kw else Msg(zh, en)


# The major-hazard dossier (重大事故隐患挂牌督办): the case page's section and the notices page.
T.update(
    {
        "nav.notices": ("挂牌公告", "Notices"),
        "act.plan": ("提交五到位整改方案", "Submit rectification plan"),
        "act.recheck": ("复查", "Re-inspection"),
        "act.publish": ("发布公告", "Publish notice"),
        "dossier.title": ("重大隐患挂牌督办", "Major hazard dossier"),
        "dossier.plan": ("五到位整改方案", "Rectification plan (five in place)"),
        "dossier.no_plan": ("尚未提交整改方案", "No plan submitted yet"),
        "dossier.measures": ("整改措施", "Measures"),
        "dossier.funds": ("整改资金", "Funds"),
        "dossier.responsible": ("责任人", "Responsible person"),
        "dossier.deadline": ("整改时限", "Deadline"),
        "dossier.emergency_plan": ("应急预案", "Emergency plan"),
        "dossier.submitted": ("提交", "Submitted"),
        "dossier.new_plan": ("提交新方案（取代现方案）", "Submit a new plan (supersedes)"),
        "dossier.rechecks": ("复查记录", "Re-inspections"),
        "dossier.result": ("复查结果", "Result"),
        "dossier.pass": ("合格", "Passed"),
        "dossier.fail": ("不合格", "Failed"),
        "dossier.note": ("复查意见", "Note"),
        "dossier.notices": ("挂牌 / 摘牌公告", "Listing and delisting notices"),
        "notice.listing": ("挂牌督办公告", "Listing notice"),
        "notice.delisting": ("摘牌公告", "Delisting notice"),
        "notice.draft": ("草稿（未发布）", "Draft (unpublished)"),
        "notice.due": ("发布期限", "Publish by"),
        "notice.overdue": ("逾期未发布", "Overdue"),
        "notice.published": ("已发布", "Published"),
        "notices.title": ("挂牌 / 摘牌公告", "Listing and delisting notices"),
        "notices.case": ("隐患", "Hazard"),
        "notices.type": ("类型", "Type"),
        "notices.number": ("文号", "Number"),
        "notices.state": ("状态", "State"),
    }
)
T.update(OFFLINE_TEXTS)

from api.web.i18n_tasks import TEXTS as TASK_TEXTS  # noqa: E402 - co-handling (主办/协办)

T.update(TASK_TEXTS)
