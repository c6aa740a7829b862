"""The demo district's risk register: risk points at the demo enterprises at all four levels, and
the risk reports of the last weeks — most reviewed (approved, one rejected with its reason), a
couple pending, one pending past its review deadline — through the same services as the pages."""

from datetime import datetime, timedelta

from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.safety import risk_points, risk_reports
from models.enums import ReviewDecision, RiskLevel
from models.risk import RiskPointCreate, RiskReportCreate, RiskReview

# (code, enterprise, name, level, measures, unit responsible)
POINTS: tuple[tuple[str, str, str, RiskLevel, str, str | None], ...] = (
    (
        "FX-DM-002-01",
        "E-DM-002",
        "液化石油气储罐区",
        RiskLevel.major,
        "储罐区可燃气体报警联动切断；每日两次巡检；动火作业审批",
        "ZJ",
    ),
    (
        "FX-DM-002-02",
        "E-DM-002",
        "钢瓶充装间",
        RiskLevel.significant,
        "充装前逐瓶检查；防爆电气；充装工持证上岗",
        "ZJ",
    ),
    (
        "FX-GY-001-01",
        "E-GY-001",
        "危化品仓库",
        RiskLevel.significant,
        "分区分类存放；温湿度监测；双人双锁",
        "YJ",
    ),
    (
        "FX-DM-001-01",
        "E-DM-001",
        "抛光打磨工位（粉尘）",
        RiskLevel.general,
        "每班清扫积尘；除尘设备定期检修",
        "YJ",
    ),
    (
        "FX-NH-001-01",
        "E-NH-001",
        "氨制冷机房",
        RiskLevel.general,
        "氨泄漏报警；应急喷淋；每周演练",
        "YJ",
    ),
    (
        "FX-NH-002-01",
        "E-NH-002",
        "塔吊作业区",
        RiskLevel.general,
        "塔吊安装验收；司机持证；大风停止作业",
        "ZJ",
    ),
    (
        "FX-DM-003-01",
        "E-DM-003",
        "商业街人员密集区",
        RiskLevel.general,
        "节假日限流；消防通道畅通",
        "CG",
    ),
    ("FX-DM-001-02", "E-DM-001", "配电房", RiskLevel.low, "定期检测；非电工禁止入内", None),
    ("FX-GY-002-01", "E-GY-002", "市场消防通道", RiskLevel.low, "每日巡查占道", "XF"),
)
# (days ago, reporter, enterprise or point, level, name of a new point, content, review)
# review: ("approve" | "reject", reason, hours later) or None (pending).
REPORTS: tuple[tuple[float, str, str, RiskLevel, str, str, tuple[str, str, float] | None], ...] = (
    (
        27,
        "lh-wg01",
        "FX-DM-001-01",
        RiskLevel.significant,
        "",
        "新增两台抛光机，粉尘浓度上升",
        ("approve", "", 20),
    ),
    (
        24,
        "lh-wg02",
        "E-DM-002",
        RiskLevel.general,
        "钢瓶仓储区",
        "新辟钢瓶临时存放区",
        ("approve", "", 30),
    ),
    (
        20,
        "lh-wg05",
        "FX-NH-001-01",
        RiskLevel.low,
        "",
        "申请降为低风险",
        ("reject", "氨制冷系统未改造，风险未降低，不予降级", 26),
    ),
    (
        16,
        "lh-wg06",
        "FX-GY-001-01",
        RiskLevel.significant,
        "",
        "增加储存品种，已更新管控措施",
        ("approve", "", 44),
    ),
    (
        13,
        "lh-dispatch",
        "E-DM-003",
        RiskLevel.general,
        "夜市摊区",
        "夜市开放，人员聚集",
        ("approve", "", 6),
    ),
    (9, "lh-wg04", "E-NH-002", RiskLevel.significant, "深基坑", "基坑开挖深度超过 5 米", None),
    (2, "lh-wg07", "FX-GY-002-01", RiskLevel.general, "", "市场改造期间通道变窄", None),
    (1, "lh-wg01", "E-DM-001", RiskLevel.low, "喷涂房", "新建小型喷涂房", None),
)


def load_risk(session: Session, *, now: datetime, people: dict[str, Principal]) -> None:
    admin, supervisor = people["lh-admin"], people["lh-supervise"]
    start = now - timedelta(days=60)
    for code, ent, name, level, measures, unit in POINTS:
        data = RiskPointCreate(
            code=code,
            enterprise_code=ent,
            name=name,
            level=level,
            measures=measures,
            unit_code=unit,
        )
        risk_points.create_point(session, actor=admin, data=data, now=start)
    for days, who, target, level, name, content, review in REPORTS:
        at = now - timedelta(days=days)
        about = (
            {"risk_point_code": target}
            if target.startswith("FX-")
            else {
                "enterprise_code": target,
                "name": name,
            }
        )
        report = risk_reports.create_report(
            session,
            actor=people[who],
            data=RiskReportCreate(level=level, content=content, **about),  # type: ignore[arg-type]
            now=at,
        )
        if review is not None:
            decision, reason, hours = review
            risk_reports.review(
                session,
                actor=supervisor,
                report_id=report.id or 0,
                data=RiskReview(decision=ReviewDecision(decision), reason=reason),
                now=at + timedelta(hours=hours),
            )
