"""What a letter says, and how it is drawn: the wording is decided once when the letter is issued
(and frozen into Letter.content); HTML and PDF are rendered from that snapshot only.

Templates live in notifications/templates/letters/ (Jinja2, StrictUndefined, autoescaped).
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, col, select

from closeloop.calendar import SHANGHAI, WorkCalendar
from closeloop.config import Settings
from closeloop.policy import Principal
from models.case import Case
from models.enums import CaseKind, LetterType
from models.letter import Letter
from models.org import Region, Unit

TYPE_NAME = {
    LetterType.reminder: "提醒函",
    LetterType.supervision: "督办函",
    LetterType.warning: "警示函",
}
KIND_NOUN = {CaseKind.hazard: "隐患", CaseKind.event: "事件", CaseKind.letter: "督办事项"}


@dataclass(frozen=True)
class Wording:
    type_name: str
    title: str
    addressee: str
    body: list[str]
    requirement: str
    notice: str  # the outbox message


def cn_date(at: datetime) -> str:
    """2025年10月16日 (Shanghai date, Arabic numerals as GB/T 9704 asks)."""
    day = at.astimezone(SHANGHAI).date()
    return f"{day.year}年{day.month}月{day.day}日"


def _self_name(issuer_name: str) -> str:
    for suffix in ("局", "中心", "委员会", "办公室"):
        if issuer_name.endswith(suffix):
            return "我" + ("委" if suffix == "委员会" else "办" if suffix == "办公室" else suffix)
    return "我单位"


def word(
    letter_type: LetterType,
    *,
    cases: list[Case],
    rows: list[dict[str, Any]],
    unit: Unit,
    number: str,
    issuer_name: str,
    now: datetime,
    reply_due_at: datetime | None,
) -> Wording:
    kinds = {CaseKind(c.kind) for c in cases}
    noun = KIND_NOUN[kinds.pop()] if len(kinds) == 1 else "案件"
    n = len(cases)
    worst = max((int(r["days_overdue"]) for r in rows), default=0)
    we = _self_name(issuer_name)
    today = cn_date(now)
    reply = cn_date(reply_due_at) if reply_due_at else ""
    feedback = f"请于{reply}前将整改情况书面反馈{we}（在系统中签收本督办件并提交反馈材料）。"
    if letter_type == LetterType.reminder:
        title = f"关于加快办理超期{noun}的提醒函"
        body = [
            f"经闭环管理系统核查，截至{today}，你单位承办的以下{n}件{noun}已超过办理期限，"
            "尚未办结（详见下表）。"
        ]
        requirement = (
            "请你单位高度重视，立即组织力量加快办理，按要求完成整改，并在系统中及时反馈办理结果，"
            "避免问题进一步超期。"
        )
    elif letter_type == LetterType.supervision:
        title = f"关于督促加快整改超期{noun}的督办函"
        body = [
            f"截至{today}，你单位承办的以下{n}件{noun}已超过整改期限，最长超期{worst}个工作日，"
            "至今尚未整改到位（详见下表）。根据隐患排查治理闭环管理有关规定，现予督办。"
        ]
        requirement = (
            "请你单位接函后立即组织整改，逐件落实整改责任、措施和时限，"
            + feedback
            + f"逾期未反馈或整改不到位的，{we}将发出警示函并予以通报。"
        )
    else:
        if noun == "督办事项":
            title = "关于督办事项逾期未反馈的警示函"
            situation = f"你单位对以下{n}件督办事项逾期未按要求反馈整改情况"
        else:
            title = f"关于超期{noun}逾期未整改到位的警示函"
            situation = (
                f"你单位承办的以下{n}件{noun}已严重超过整改期限（最长超期{worst}个工作日），"
                "经提醒、督办仍未整改到位"
            )
        body = [
            f"截至{today}，{situation}（详见下表）。相关事项已列入挂牌督办，并将在下期通报中"
            "予以通报。"
        ]
        requirement = (
            "请你单位主要负责同志亲自过问、亲自部署，立即采取有效措施整改到位，"
            + feedback
            + f"对仍不落实整改的，{we}将按有关规定严肃处理。"
        )
    addressee = f"{unit.name}主要负责同志" if letter_type == LetterType.warning else unit.name
    numbers = "、".join(c.number for c in cases[:10]) + ("等" if n > 10 else "")
    notice = (
        f"{issuer_name}向你单位发出{TYPE_NAME[letter_type]}（{number}）：{title}。"
        f"涉及{n}件{noun}：{numbers}。"
        + (f"请于{reply}前书面反馈。" if reply else "")
        + "请登录闭环系统查看函件全文。"
    )
    return Wording(TYPE_NAME[letter_type], title, addressee, body, requirement, notice)


def case_rows(
    session: Session, cases: list[Case], *, now: datetime, cal: WorkCalendar
) -> list[dict[str, Any]]:
    grids = {c.grid_code for c in cases if c.grid_code}
    names = (
        {r.code: r.name for r in session.exec(select(Region).where(col(Region.code).in_(grids)))}
        if grids
        else {}
    )
    rows = []
    for i, case in enumerate(cases, start=1):
        overdue = 0
        if case.due_at is not None and now > case.due_at:
            overdue = cal.working_days_between(cal.local_date(case.due_at), cal.local_date(now))
        rows.append(
            {
                "seq": i,
                "id": case.id,
                "number": case.number,
                "kind": str(case.kind),
                "title": case.title,
                "place": case.address or names.get(case.grid_code or "", "") or "—",
                "dispatched_at": _iso(case.dispatched_at),
                "dispatched_date": _day(case.dispatched_at),
                "due_at": _iso(case.due_at),
                "due_date": _day(case.due_at),
                "days_overdue": overdue,
            }
        )
    return rows


def snapshot(
    number: str,
    letter_type: LetterType,
    wording: Wording,
    unit: Unit,
    rows: list[dict[str, Any]],
    now: datetime,
    reply_due_at: datetime | None,
    reason: str | None,
    by: Principal,
    settings: Settings,
) -> dict[str, Any]:
    return {
        "type": str(letter_type),
        "type_name": wording.type_name,
        "number": number,
        "title": wording.title,
        "issuer_name": settings.issuer_name,
        "issuer_short": settings.issuer_short,
        "contact": settings.issuer_contact,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "addressee": wording.addressee,
        "issued_at": now.isoformat(),
        "issued_date": cn_date(now),
        "reply_due_at": _iso(reply_due_at),
        "reply_due_date": cn_date(reply_due_at) if reply_due_at else None,
        "body": wording.body,
        "requirement": wording.requirement,
        "reason": (reason or "").strip() or None,
        "issued_by": by.display_name,
        "cases": rows,
        "case_number": None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _day(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).date().isoformat() if value else "—"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("notifications", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(letter: Letter) -> str:
    """The letter as a standalone HTML document, from its frozen content only."""
    return _env().get_template("letters/letter.html").render(letter=letter.content)


def render_pdf(letter: Letter) -> bytes:
    """The letter as an A4 PDF (WeasyPrint), with its Chinese text embedded and extractable."""
    from weasyprint import HTML  # imported on first use: it loads Pango and fonts

    pdf = HTML(string=render_html(letter)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
