"""The tables behind the demo district (closeloop.demo): places, units, the patrol checklist,
people, the texts cases are written with, and the paths cases take through the lifecycle.

Modelled on Luohu District, Shenzhen: real street and road names, a fictional ledger.
"""

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from models.case import Location
from models.enums import CaseKind, Grade, Role

DISTRICT = ("440303", "罗湖区")
MARKER_KEY = "demo_district"  # app_setting row written when the demo is loaded


class Community(NamedTuple):
    code: str
    name: str
    roads: tuple[str, ...]
    places: tuple[str, ...]
    lat: float
    lon: float


class Street(NamedTuple):
    code: str
    name: str
    office: str  # the unit code of the street office (街道办事处)
    communities: tuple[Community, ...]


STREETS = (
    Street("440303003", "东门街道", "JD-DM", (
        Community("440303003001", "湖贝社区", ("湖贝路", "东门中路", "深南东路"),
                  ("湖贝新村", "湖贝古村", "东门町商业街", "湖贝路市场"), 22.5468, 114.1236),
        Community("440303003002", "立新社区", ("立新路", "东门北路", "解放路"),
                  ("立新花园", "东门老街", "立新大厦", "解放路菜市场"), 22.5502, 114.1188),
        Community("440303003003", "城东社区", ("文锦中路", "东门南路", "城东街"),
                  ("城东花园", "城东综合市场", "文锦大厦", "东门南小区"), 22.5441, 114.1275),
    )),
    Street("440303005", "南湖街道", "JD-NH", (
        Community("440303005001", "新南社区", ("人民南路", "嘉宾路", "春风路"),
                  ("新南村", "春风大厦", "嘉宾花园", "国贸商住楼"), 22.5377, 114.1170),
        Community("440303005002", "渔邨社区", ("渔邨路", "滨河路", "罗芳路"),
                  ("渔邨新村", "渔邨花园", "滨河时代广场", "罗芳苑"), 22.5338, 114.1219),
    )),
    Street("440303001", "桂园街道", "JD-GY", (
        Community("440303001001", "老围社区", ("红宝路", "宝安南路", "桂园路"),
                  ("老围新村", "桂园大厦", "红宝大厦", "桂园综合市场"), 22.5462, 114.1090),
        Community("440303001002", "松园社区", ("松园路", "红岭中路", "北站路"),
                  ("松园北村", "松园花园", "红岭大厦", "松园菜市场"), 22.5498, 114.1121),
    )),
)
GRID_NUMERALS = ("一", "二")  # two grids per community: <community>01, <community>02

UNITS = (  # code, name, short name (used in letter numbers)
    ("ZJ", "罗湖区住房和建设局", "住建"),
    ("SW", "罗湖区水务局", "水务"),
    ("CG", "罗湖区城市管理和综合执法局", "城管"),
    ("XF", "罗湖区消防救援大队", "消防"),
    ("YJ", "罗湖区应急管理局", "应急"),
    ("JD-DM", "东门街道办事处", "东门街道"),
    ("JD-NH", "南湖街道办事处", "南湖街道"),
    ("JD-GY", "桂园街道办事处", "桂园街道"),
)
UNIT_NAMES = {code: name for code, name, _ in UNITS}
STREET_UNIT = "STREET"  # routed to the street office of the case's street
STREET_FALLBACK = "YJ"  # the category's default unit for street-routed items


class Item(NamedTuple):
    code: str
    name: str
    unit: str
    limit_days: int
    sign_hours: float
    weight: int
    hazard: float  # share of cases found by inspection as hazards
    major: bool  # may be a major hazard (重大事故隐患)
    urgent: float  # share of urgent cases
    titles: tuple[str, ...]
    texts: tuple[str, ...]


I = Item  # noqa: E741 - keeps the checklist below readable
CLASSES = (  # 网格巡查事项清单: class code, class name, items
    ("01", "市容环境", (
        I("0101", "占道经营", "CG", 3, 2, 10, 0, False, 0,
          ("{shop}出店经营占用人行道", "{road}流动摊贩占道经营", "{place}门口夜市摊档占道"),
          ("巡查发现{addr}{shop}将货架、桌椅摆放至店外人行道，占道约{n}平方米，影响行人通行。",
           "{addr}有流动摊贩推车售卖水果、小吃，占用人行道及盲道，晚高峰造成拥堵。")),
        I("0102", "乱堆乱放", STREET_UNIT, 3, 2, 8, 0, False, 0,
          ("{place}楼道杂物堆放", "{road}绿化带旁装修垃圾乱堆", "{place}架空层堆放废旧家具"),
          ("{addr}楼道及疏散楼梯间堆放纸箱、旧家具等杂物，影响通行和疏散。",
           "{addr}路边堆放装修垃圾约{n}立方米，未覆盖，无人清运。")),
        I("0103", "暴露垃圾", "CG", 1, 2, 7, 0, False, 0.05,
          ("{road}垃圾收集点垃圾满溢", "{place}周边暴露垃圾未清运"),
          ("{addr}垃圾桶满溢，周边散落生活垃圾，异味明显，影响周边居民。",
           "{addr}发现暴露垃圾约{n}处，有蚊蝇滋生，需及时清运。")),
        I("0104", "违规张贴小广告", "CG", 3, 4, 4, 0, False, 0,
          ("{place}墙面张贴小广告", "{road}公交站牌乱张贴"),
          ("{addr}墙面、电箱张贴“开锁”“办证”等小广告{n}余处，影响市容。",
           "{addr}公交站候车亭被乱张贴、喷涂小广告。")),
        I("0105", "户外招牌破损", "CG", 5, 4, 3, 0.3, False, 0.1,
          ("{shop}招牌松动存在坠落风险", "{road}沿街广告牌破损"),
          ("{addr}{shop}门头招牌固定件锈蚀松动，台风季存在坠落伤人风险。",
           "{addr}户外广告牌面板破损，部分钢架外露。")),
    )),
    ("02", "消防安全", (
        I("0201", "消防通道堵塞", "XF", 1, 1, 7, 0.4, False, 0.3,
          ("{place}消防车通道被车辆占用", "{place}消防通道堆放杂物"),
          ("{addr}消防车通道长期停放私家车{n}辆，通道宽度不足4米。",
           "{addr}消防通道及安全出口堆放货物，常闭式防火门被杂物顶开。")),
        I("0202", "电动车违规充电", STREET_UNIT, 1, 1, 8, 0.4, False, 0.2,
          ("{place}楼道电动自行车飞线充电", "{place}电动自行车违规入户充电"),
          ("{addr}楼道内停放电动自行车{n}辆，从住户窗口拉电线充电。",
           "{addr}住户将电动自行车及电池带入室内充电，存在火灾隐患。")),
        I("0203", "私拉乱接电线", STREET_UNIT, 3, 2, 6, 0.4, False, 0,
          ("{place}私拉乱接电线", "{shop}店内电线老化乱拉"),
          ("{addr}外墙及楼道私拉乱接电线，线路裸露、无穿管保护。",
           "{addr}{shop}店内插排串接使用，电线老化破皮。")),
        I("0204", "消防设施损坏缺失", "XF", 5, 4, 4, 0.6, False, 0,
          ("{place}消火栓箱内水带缺失", "{place}灭火器过期未更换", "{place}应急照明损坏"),
          ("{addr}消火栓箱内水带、水枪缺失，箱门损坏。",
           "{addr}配置的{n}具灭火器压力不足、已过检验期，疏散指示标志不亮。")),
        I("0205", "三小场所违规住人", STREET_UNIT, 3, 2, 3, 0.7, True, 0.1,
          ("{shop}三小场所违规住人", "{place}出租屋“三合一”违规住人"),
          ("{addr}{shop}生产经营与住宿未有效分隔，阁楼住人{n}名，仅有一个出口。",
           "{addr}一楼商铺存在“三合一”情况，夜间留宿人员，无独立疏散通道。")),
    )),
    ("03", "安全生产", (
        I("0301", "燃气瓶违规存放", "ZJ", 1, 1, 5, 0.6, True, 0.2,
          ("{shop}后厨违规存放液化气瓶", "{shop}液化气瓶未使用安全软管"),
          ("{addr}{shop}后厨存放液化石油气瓶{n}个，未设置燃气泄漏报警装置。",
           "{addr}{shop}使用非金属软管连接气瓶，软管老化龟裂。")),
        I("0302", "违规动火作业", "YJ", 1, 1, 3, 0.7, True, 0.3,
          ("{place}装修违规动火作业", "{road}施工现场无证电焊作业"),
          ("{addr}装修施工现场进行电焊作业，未办理动火审批，现场无灭火器和监护人。",
           "{addr}施工人员无特种作业证进行切割作业，周边堆放易燃材料。")),
        I("0303", "危险化学品违规储存", "YJ", 5, 2, 2, 0.9, True, 0,
          ("{shop}违规储存油漆稀释剂", "{place}地下室违规存放危险化学品"),
          ("{addr}{shop}仓库内存放油漆、稀释剂约{n}桶，未分类分区，无通风设施。",
           "{addr}地下室存放酒精、天那水等易燃液体，无安全标识。")),
        I("0304", "有限空间作业不规范", "YJ", 2, 1, 1, 0.9, True, 0.2,
          ("{road}污水井有限空间作业未检测", "{place}化粪池清掏作业无防护"),
          ("{addr}作业人员进入污水井作业，未进行气体检测，未配备防护用品。",
           "{addr}化粪池清掏作业无专人监护，未设置警示围蔽。")),
    )),
    ("04", "建设工程", (
        I("0401", "建筑工地未围挡", "ZJ", 3, 2, 4, 0.4, False, 0,
          ("{road}施工工地未设置围挡", "{place}装修工程围挡破损"),
          ("{addr}道路开挖施工未设置连续围挡，夜间无警示灯。",
           "{addr}工地围挡倒伏{n}米，施工区域与人行道未隔离。")),
        I("0402", "工地扬尘污染", "ZJ", 2, 2, 3, 0, False, 0,
          ("{road}工地裸土未覆盖", "{road}渣土车未冲洗带泥上路"),
          ("{addr}工地裸露土方约{n}平方米未覆盖，未开启雾炮降尘。",
           "{addr}工地出入口未设置洗车槽，渣土车带泥上路。")),
        I("0403", "高处作业无防护", "ZJ", 1, 1, 2, 0.8, True, 0.2,
          ("{place}外墙作业人员未系安全带", "{place}脚手架搭设不规范"),
          ("{addr}外墙翻新作业人员未系安全带，吊篮无安全绳。",
           "{addr}脚手架缺少剪刀撑和防护网，作业层未满铺脚手板。")),
        I("0404", "违法建设", "CG", 10, 4, 3, 0, False, 0,
          ("{place}天台违法搭建", "{place}私自加建铁皮房"),
          ("{addr}楼顶天台新搭建钢结构铁皮房约{n}平方米，未见规划许可。",
           "{addr}一楼住户私自向外扩建，占用公共空间。")),
        I("0405", "房屋安全隐患", "ZJ", 10, 4, 2, 0.6, True, 0,
          ("{place}外墙瓷砖脱落", "{place}房屋墙体开裂"),
          ("{addr}外墙瓷砖空鼓脱落，掉落在人行道上，存在伤人风险。",
           "{addr}楼栋承重墙出现多条斜向裂缝，最宽约{n}毫米。")),
    )),
    ("05", "市政设施", (
        I("0501", "井盖缺失破损", "SW", 1, 1, 4, 0, False, 0.4,
          ("{road}路面井盖缺失", "{road}雨水井盖破损下沉"),
          ("{addr}人行道上雨水井盖缺失，井口敞开，已临时摆放锥桶。",
           "{addr}机动车道井盖破损下沉约{n}厘米，车辆经过有异响。")),
        I("0502", "污水冒溢", "SW", 2, 2, 5, 0, False, 0.2,
          ("{road}污水井冒溢", "{place}化粪池外溢"),
          ("{addr}污水检查井冒溢，污水流入人行道，气味较大。",
           "{addr}化粪池满溢，污水漫延约{n}米。")),
        I("0503", "道路积水", "SW", 2, 2, 3, 0, False, 0.1,
          ("{road}路段积水", "{place}门前雨后积水"),
          ("{addr}雨后路面积水深约{n}厘米，雨水篦子堵塞。",
           "{addr}排水不畅，每逢降雨即积水，影响居民出行。")),
        I("0504", "路灯故障", "CG", 3, 4, 3, 0, False, 0,
          ("{road}路灯不亮", "{place}周边路灯损坏"),
          ("{addr}连续{n}盏路灯夜间不亮，路段昏暗。",
           "{addr}路灯灯杆倾斜，灯罩破损。")),
        I("0505", "人行道破损", "CG", 5, 4, 3, 0, False, 0,
          ("{road}人行道地砖破损松动", "{road}盲道被占用损坏"),
          ("{addr}人行道地砖松动破损约{n}平方米，雨天踩踏溅水。",
           "{addr}盲道砖块缺失，存在绊倒风险。")),
    )),
)
SHOPS = ("好又多便利店", "湘味小炒", "老李水果店", "粤香茶餐厅", "美佳理发店", "鸿发五金店",
         "潮汕牛肉火锅", "兴旺烟酒行", "阿香米线", "诚信手机维修", "客家酿豆腐", "利民干洗店")

# People. Usernames are stable (they name the demo's accounts); passwords are never stored here.
ADMIN = ("lh-admin", "系统管理员")
DISPATCHER = ("lh-dispatch", "陈晓燕")  # 区网格管理中心受理调度
SUPERVISOR = ("lh-supervise", "刘建国")  # 区应急管理局分管领导
HANDLERS = {"ZJ": ("lh-zj", "黄志明"), "SW": ("lh-sw", "林海涛"), "CG": ("lh-cg", "张伟"),
            "XF": ("lh-xf", "吴俊杰"), "YJ": ("lh-yj", "郑丽华"), "JD-DM": ("lh-dm", "何家豪"),
            "JD-NH": ("lh-nh", "罗美玲"), "JD-GY": ("lh-gy", "谢文斌")}
# One grid worker (网格员) on the first grid of each community; the desk files the others.
GRID_WORKERS = ("李红梅", "王志勇", "赵丽娟", "孙国平", "周小琴", "杨伟东", "钟秀英")

CANCEL_REASONS = ("经现场核实，反映问题不存在", "属物业管理范围，已告知业主联系物业处理",
                  "上报信息不全，无法定位具体位置", "非本区管辖范围，已告知转相邻区处理",
                  "经核实，当事人已自行整改完毕")
RETURN_REASON = "经核实，该事项不属于{wrong}职责范围，请改派{right}"
REJECT_REASONS = ("整改照片未反映现场全貌，请补充整改前后对比照片", "现场复核发现问题仍然存在，请彻底整改",
                  "整改后出现反弹，请落实长效管理措施", "未提供整改凭证，请补充材料")
EXTENSION_REASONS = ("需采购更换设施，供货周期较长", "涉及多个产权单位，需协调业主共同整改",
                     "整改需停水停电施工，须提前公告", "施工队伍进场排期，申请延长整改期限")
SUSPENSION_REASONS = ("产权存在纠纷，待司法判决后处理", "受台风暴雨天气影响，室外整改作业暂停",
                      "涉及城市更新项目，待规划方案确定", "业主长期在外无法联系，待街道协调")
SUBMIT_NOTES = ("已责令当事人立即整改，现场已恢复正常", "已组织人员清理完毕，并纳入日常巡查",
                "已联系产权单位完成维修", "已约谈经营者并签订整改承诺书，现场整改到位")
APPROVE_NOTES = ("经现场核查，已整改到位，同意结案", "复核通过", "整改照片清晰，问题已解决")
EXT_REFUSED = "延期理由不充分，请按原期限完成整改"
REOPEN_REASONS = ("群众再次反映，问题出现反弹", "回访发现问题复现，重新整改")
HOTLINE = ("12345热线转办：市民反映", "视频巡查发现：", "网格中心受理群众来电：")
INSPECTION = ("区安委办联合街道开展安全检查发现：", "节前安全生产大检查发现：", "街道安全员日常巡查发现：")

# How many cases take each path (PATHS below); 300 in all.
PLAN = {
    "closed": 118, "closed_late": 20, "closed_rework": 15, "closed_returned": 12,
    "closed_extended": 10, "closed_ext_refused": 4, "closed_suspended": 6, "closed_reopened": 5,
    "cancelled": 14, "merged": 8,
    "reported": 10, "reported_returned": 5,
    "dispatched": 7, "dispatched_late": 5,
    "rectifying": 14, "rectifying_overdue": 12, "rectifying_ext_pending": 4,
    "rectifying_extended": 3, "rectifying_rework": 3, "rectifying_reopened": 2,
    "suspended": 5, "suspended_direct": 2,
    "verifying": 12, "verifying_overdue": 4,
}
MAJOR_HAZARDS = 10

# The steps each path takes after filing; the path's name says where the case ends up.
PATHS = {name: steps.split() for name, steps in {
    "closed": "dispatch sign submit approve",
    "closed_late": "dispatch sign submit_late approve",
    "closed_rework": "dispatch sign submit reject submit approve",
    "closed_returned": "misdispatch return dispatch sign submit approve",
    "closed_extended": "dispatch sign request_extension approve_extension submit approve",
    "closed_ext_refused": "dispatch sign request_extension reject_extension submit_late approve",
    "closed_suspended": "dispatch sign request_suspension suspend resume submit approve",
    "closed_reopened": "dispatch sign submit approve reopen submit approve",
    "cancelled": "cancel",
    "merged": "merge",
    "reported": "",
    "reported_returned": "misdispatch return",
    "dispatched": "dispatch",
    "dispatched_late": "dispatch",
    "rectifying": "dispatch sign",
    "rectifying_overdue": "dispatch sign",
    "rectifying_ext_pending": "dispatch sign request_extension",
    "rectifying_extended": "dispatch sign request_extension approve_extension",
    "rectifying_rework": "dispatch sign submit reject",
    "rectifying_reopened": "dispatch sign submit approve reopen",
    "suspended": "dispatch sign request_suspension suspend",
    "suspended_direct": "dispatch sign suspend",
    "verifying": "dispatch sign submit",
    "verifying_overdue": "dispatch sign submit",
}.items()}
STEP_ACTORS = {  # who takes each step: the desk, leadership, the unit's handler, the verifier
    "dispatch": "desk", "misdispatch": "desk", "cancel": "desk", "merge": "desk",
    "return": "handler", "sign": "handler", "submit": "handler", "submit_late": "handler",
    "request_extension": "handler", "request_suspension": "handler",
    "approve_extension": "boss", "reject_extension": "boss", "suspend": "boss", "resume": "boss",
    "reopen": "boss", "approve": "verifier", "reject": "verifier",
}
STEP_TEXTS = {  # what each step says, and in which field
    "cancel": ("reason", CANCEL_REASONS), "merge": ("note", ("重复上报，合并办理",)),
    "submit": ("note", SUBMIT_NOTES), "submit_late": ("note", SUBMIT_NOTES),
    "approve": ("note", APPROVE_NOTES), "reject": ("reason", REJECT_REASONS),
    "request_extension": ("reason", EXTENSION_REASONS),
    "approve_extension": ("note", ("理由充分，同意延期",)), "reject_extension": ("reason", (EXT_REFUSED,)),
    "request_suspension": ("reason", SUSPENSION_REASONS), "suspend": ("reason", SUSPENSION_REASONS),
    "resume": ("note", ("暂停事由已消除，恢复整改",)), "reopen": ("reason", REOPEN_REASONS),
}
# Days before `now` a path's case is filed: closed paths need room to finish (extra days on top
# of 1.5 × the rectification limit); open ones are as old as their story needs.
CLOSED_EXTRA = {"closed": 3, "closed_late": 12, "closed_rework": 8, "closed_returned": 4,
                "closed_extended": 14, "closed_ext_refused": 14, "closed_suspended": 20,
                "closed_reopened": 16}
OPEN_AGES = {"cancelled": (0.5, 88), "merged": (0.5, 88), "reported": (0.03, 0.8),
             "reported_returned": (0.6, 3), "dispatched": (0.08, 0.6), "dispatched_late": (2, 8),
             "rectifying": (0.3, 2.5), "rectifying_ext_pending": (1.5, 5),
             "rectifying_extended": (4, 12), "rectifying_rework": (4, 12),
             "rectifying_reopened": (12, 30), "suspended": (10, 45), "suspended_direct": (10, 45),
             "verifying": (1, 4), "verifying_overdue": (15, 45)}
ROLE_NAMES = {Role.admin: "管理员", Role.dispatcher: "受理调度", Role.supervisor: "督办领导",
              Role.handler: "处置人员", Role.reporter: "网格员"}


class Account(NamedTuple):
    username: str
    role: Role
    display_name: str
    unit_code: str | None
    region_code: str | None
    jurisdiction: str


class Grid(NamedTuple):
    code: str
    name: str
    street: Street
    community: Community
    worker: str | None  # username of the grid worker, if the grid has one


@dataclass
class Spec:
    """One demo case before it is filed: what it is, where, by whom, and the path it takes."""

    path: str
    item: Item
    grid: Grid
    kind: CaseKind
    urgent: bool
    title: str
    description: str
    address: str
    location: Location
    filer: str
    self_verify: bool = False  # the grid worker verifies their own event
    grade: Grade | None = None
    limit_days: int | None = None  # an explicit limit at dispatch (hazards)
    wrong_unit: str | None = None  # where a misdispatch sends it first
    reported_at: datetime = datetime.min.replace(tzinfo=UTC)
    target: int | None = None  # for a merge: the index of the case this duplicates
    case_id: int | None = None

    @property
    def days(self) -> int:
        return self.limit_days or self.item.limit_days


def grids() -> list[Grid]:
    result: list[Grid] = []
    for street in STREETS:
        for community in street.communities:
            for k, numeral in enumerate(GRID_NUMERALS):
                worker = f"lh-wg{len(result) // 2 + 1:02d}" if k == 0 else None
                name = f"{community.name}第{numeral}网格"
                result.append(Grid(f"{community.code}{k + 1:02d}", name, street, community, worker))
    return result


def accounts() -> list[Account]:
    code, name = DISTRICT
    result = [
        Account(ADMIN[0], Role.admin, ADMIN[1], None, None, f"{name}（系统管理）"),
        Account(DISPATCHER[0], Role.dispatcher, DISPATCHER[1], None, code, f"{name}网格管理中心"),
        Account(SUPERVISOR[0], Role.supervisor, SUPERVISOR[1], None, code, f"{name}应急管理局"),
    ]
    result += [Account(u, Role.handler, n, c, None, UNIT_NAMES[c]) for c, (u, n) in HANDLERS.items()]
    workers = [g for g in grids() if g.worker]
    for g, person in zip(workers, GRID_WORKERS, strict=True):
        assert g.worker is not None
        where = f"{g.street.name}{g.name}"
        result.append(Account(g.worker, Role.reporter, person, None, g.code, where))
    return result


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1×1 PNG: enough for the evidence checks, light on disk."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" + bytes(rgb))) + chunk(b"IEND", b""))


BEFORE_PHOTOS = [_png(c) for c in ((128, 96, 64), (96, 96, 96), (160, 120, 80))]
AFTER_PHOTOS = [_png(c) for c in ((64, 160, 96), (80, 176, 120), (96, 192, 144))]

# Letter cases (督办件) the daily escalation opens: how the units answer them. The rest never
# answer (their reply goes late, and the next run warns about the cases still late).
LETTER_ON_TIME = 0.7
LETTER_LATE = 0.15
LETTER_REPLIES = ("已对函件所列事项逐项整改，整改情况报告附后",
                  "已召开专题会议部署整改，函列案件已整改完毕，现将整改情况报告如下",
                  "已落实整改责任人和整改措施，整改情况及佐证材料附后")
LETTER_APPROVALS = ("反馈材料齐全，同意销号", "经核查，函列事项已整改到位")


def _pdf(text: str) -> bytes:
    """A one-page PDF: the reply document a unit attaches to a letter case."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return out


REPLY_DOCUMENT = _pdf("Rectification report")
