"""A listing or delisting notice as a GB/T 9704 document (HTML and PDF), drawn with the letters'
machinery (closeloop/letters/templates/base.html, WeasyPrint). Everything it states comes from the
records: the hazard (number, title, enterprise or place, address, grid), the responsible unit, and
— listing — the 五到位 plan in force when it was published (a draft: the latest), or — delisting —
the re-inspection before the closing and the closing date (the notice is opened at the closing).
An unpublished notice is a draft: marked 草稿, with no number."""

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment
from sqlmodel import Session, col, select

from closeloop import labels, text
from closeloop.config import Settings, get_settings
from closeloop.pdf import html_to_pdf
from closeloop.templating import document_env
from models.case import Case
from models.dossier import HazardPlan, Notice, Recheck
from models.enterprise import Enterprise
from models.enums import NoticeType
from models.org import Region, Unit

DASH = "—"


def notice_content(
    session: Session, notice: Notice, case: Case, settings: Settings | None = None
) -> dict[str, Any]:
    settings = settings or get_settings()
    enterprise = session.get(Enterprise, case.enterprise_code) if case.enterprise_code else None
    grid = session.get(Region, case.grid_code) if case.grid_code else None
    unit = session.get(Unit, case.unit_code) if case.unit_code else None
    listing = notice.type == NoticeType.listing
    where = enterprise.name if enterprise else (case.address or (grid.name if grid else DASH))
    facts = [
        ("隐患编号", case.number),
        ("隐患名称", case.title),
        ("生产经营单位/场所", enterprise.name if enterprise else DASH),
        ("地点", case.address or (enterprise.address if enterprise else "") or DASH),
        ("所属网格", grid.name if grid else DASH),
        ("承办单位", unit.name if unit else DASH),
    ]
    content: dict[str, Any] = {
        "type": str(notice.type),
        "draft": notice.published_at is None,
        "number": notice.number or "",
        "issuer_name": settings.issuer_name,
        "issued_date": text.cn_date(notice.published_at) if notice.published_at else "（未发布）",
        "facts": facts,
        "plan": None,
        "recheck": None,
    }
    if listing:
        plan = _plan(session, case, notice.published_at)
        content["title"] = f"关于对{where}重大事故隐患挂牌督办的公告"
        content["body"] = [
            f"{where}存在重大事故隐患（{case.number}：{case.title}），"
            f"现予挂牌督办，承办单位为{unit.name if unit else DASH}。",
            "隐患基本情况及五到位整改方案如下：",
        ]
        if plan is not None:
            content["plan"] = [
                ("整改措施", plan.measures),
                ("整改资金", plan.funds),
                ("责任人", plan.responsible),
                ("整改时限", text.cn_date(plan.deadline)),
                ("应急预案", plan.emergency_plan),
            ]
        content["closing"] = "请承办单位督促按方案落实整改，整改完成后申请复查销号。"
    else:
        closed_at = notice.created_at
        recheck = _recheck(session, case, closed_at)
        content["title"] = f"关于对{where}重大事故隐患摘牌的公告"
        said = (
            f"经{text.cn_date(recheck.at)}复查{labels.RECHECK_RESULT[recheck.result].zh}，"
            if recheck
            else ""
        )
        content["body"] = [
            f"{where}的重大事故隐患（{case.number}：{case.title}）已整改，"
            f"{said}于{text.cn_date(closed_at)}销号，现予摘牌。",
            "隐患基本情况如下：",
        ]
        if recheck is not None:
            content["recheck"] = [
                ("复查日期", text.cn_date(recheck.at)),
                ("复查结果", labels.RECHECK_RESULT[recheck.result].zh),
                ("复查意见", recheck.note or DASH),
                ("销号日期", text.cn_date(closed_at)),
            ]
        content["closing"] = ""
    return content


def _plan(session: Session, case: Case, until: datetime | None) -> HazardPlan | None:
    stmt = select(HazardPlan).where(HazardPlan.case_id == case.id)
    if until is not None:
        stmt = stmt.where(col(HazardPlan.submitted_at) <= until)
    stmt = stmt.order_by(col(HazardPlan.submitted_at).desc(), col(HazardPlan.id).desc())
    return session.exec(stmt).first()


def _recheck(session: Session, case: Case, until: datetime) -> Recheck | None:
    stmt = (
        select(Recheck)
        .where(Recheck.case_id == case.id, col(Recheck.at) <= until)
        .order_by(col(Recheck.at).desc(), col(Recheck.id).desc())
    )
    return session.exec(stmt).first()


@lru_cache(maxsize=1)
def _env() -> Environment:
    return document_env("closeloop.letters")


def render_html(session: Session, notice: Notice, case: Case) -> str:
    content = notice_content(session, notice, case)
    return (
        _env()
        .get_template("notice.html")
        .render(letter=content, contact="", preview=False, withdrawal=None)
    )


def render_pdf(session: Session, notice: Notice, case: Case) -> bytes:
    return html_to_pdf(render_html(session, notice, case))
