"""The demo district's checklist sets and a few weeks of inspections of its enterprises and
places: some unannounced (四不两直), some with failed items, each filed as a hazard case."""

from datetime import datetime, timedelta

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.safety import checklists, inspections
from models.inspection import ChecklistCreate, ChecklistItemIn, InspectionCreate
from models.types import SHANGHAI

# (code, name, industry, default category, [(item code, text, basis, category or None)])
SETS: list[tuple[str, str, str, str, list[tuple[str, str, str, str | None]]]] = [
    (
        "GM-93",
        "工贸企业安全生产“9+3”检查表",
        "工贸",
        "0302",
        [
            (
                "GM01",
                "有限空间作业审批，落实“先通风、再检测、后作业”",
                "《工贸企业有限空间作业安全规定》第十四条",
                "0304",
            ),
            ("GM02", "动火作业办理审批并有专人现场监护", "《安全生产法》第四十三条", "0302"),
            (
                "GM03",
                "安全出口、疏散通道畅通，无堆放物品",
                "《消防法》第二十八条；GB 50016-2014 第 5.5.17 条",
                "0201",
            ),
            ("GM04", "电气线路敷设规范，无私拉乱接", "GB 50054-2011 第 7.1.1 条", "0203"),
            ("GM05", "消防设施、器材完好有效", "《消防法》第十六条", "0204"),
            (
                "GM06",
                "危险化学品专库专柜储存，标识清楚",
                "《危险化学品安全管理条例》第二十四条",
                "0303",
            ),
            ("GM07", "建立隐患排查治理制度并如实记录", "《安全生产法》第四十一条", None),
        ],
    ),
    (
        "RQ-01",
        "燃气经营场所安全检查表",
        "燃气",
        "0301",
        [
            ("RQ01", "气瓶存放间通风良好，无火源", "GB 50028-2006 第 8.6.3 条", None),
            ("RQ02", "可燃气体报警装置安装到位并有效", "GB 50028-2006 第 10.8.1 条", None),
            ("RQ03", "钢瓶在定期检验有效期内", "TSG 23-2021《气瓶安全技术规程》第 7.1 条", None),
            ("RQ04", "从业人员经培训考核合格上岗", "《城镇燃气管理条例》第十五条", None),
        ],
    ),
    (
        "RM-01",
        "人员密集场所消防安全检查表",
        "人员密集场所",
        "0201",
        [
            ("RM01", "疏散通道、安全出口畅通，未锁闭", "《消防法》第二十八条", None),
            ("RM02", "应急照明、疏散指示标志完好", "GB 50016-2014 第 10.3.1 条", "0204"),
            (
                "RM03",
                "电动自行车未在室内、通道停放充电",
                "《高层民用建筑消防安全管理规定》第三十七条",
                "0202",
            ),
            ("RM04", "消火栓、灭火器完好有效", "GB 50140-2005 第 6.1.1 条", "0204"),
            ("RM05", "无违规住人（“三合一”）", "《消防法》第十九条", "0205"),
        ],
    ),
]

# (days ago, hour, inspector, enterprise, set, unannounced, note, {item: (result, note)})
VISITS = [
    (21, 10, "lh-dispatch", "E-DM-001", "GM-93", False, "年度例行检查", {}),
    (10, 15, "lh-supervise", "E-DM-003", "RM-01", True, "节前暗访", {}),
    (
        5,
        9,
        "lh-dispatch",
        "E-DM-002",
        "RQ-01",
        True,
        "四不两直暗查",
        {"RQ02": ("fail", "瓶库报警器断电，未能报警")},
    ),
    (
        3,
        14,
        "lh-supervise",
        "E-DM-001",
        "GM-93",
        True,
        "复查年度检查后的整改情况",
        {
            "GM03": ("fail", "二号车间安全出口堆放纸箱"),
            "GM04": ("fail", "仓库临时拖线板串接使用"),
            "GM06": ("na", "未使用危险化学品"),
        },
    ),
    (
        2,
        11,
        "lh-wg07",
        "E-GY-002",
        "RM-01",
        False,
        "网格员日常巡查",
        {"RM03": ("fail", "市场二楼通道有电动车充电")},
    ),
]


def load_inspections(session: Session, *, now: datetime, people: dict[str, Principal]) -> None:
    for code, name, industry, category, items in SETS:
        checklists.create_checklist(
            session,
            data=ChecklistCreate(
                code=code,
                name=name,
                industry=industry,
                category_code=category,
                items=[
                    ChecklistItemIn(code=c, text=t, basis=b, category_code=cat)
                    for c, t, b, cat in items
                ],
            ),
            now=now - timedelta(days=60),
        )
    for days, hour, who, enterprise, set_code, unannounced, note, results in VISITS:
        day = (now - timedelta(days=days)).astimezone(SHANGHAI)
        at = day.replace(hour=hour, minute=0, second=0, microsecond=0)
        codes = [i.code for i in checklists.items_of(session, set_code)]
        answers = [
            {
                "item_code": c,
                "result": results.get(c, ("pass", ""))[0],
                "note": results.get(c, ("pass", ""))[1],
            }
            for c in codes
        ]
        data = InspectionCreate.model_validate(
            {
                "enterprise_code": enterprise,
                "checklist_code": set_code,
                "at": at,
                "unannounced": unannounced,
                "note": note,
                "items": answers,
            }
        )
        inspections.record_inspection(session, actor=people[who], data=data, now=at)
    session.flush()
