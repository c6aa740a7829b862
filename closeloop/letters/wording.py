"""What a letter says, decided from its cases' facts at issue time (DESIGN "Truth in documents").

Each covered case is either overdue (its deadline has passed; its working days overdue are
counted by the calendar) or not yet due (its deadline is ahead). Titles, body, requirement and the
outbox notice say only what is true of the whole set: "超期" in a title only when every case is
overdue; a not-yet-due case is asked to be done by its own deadline (请加快整改，确保于…前整改到位);
earlier letters (提醒函、督办函) are mentioned only when they exist, and then named (文号, date).
Suspended cases (clock stopped) and cases submitted for verification are never covered: the
letters service refuses them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from closeloop import labels
from closeloop.text import cn_date
from models.case import Case
from models.enums import CaseKind, LetterType
from models.org import Unit

TYPE_NAME = labels.DOC_LETTER_TYPE
KIND_NOUN = labels.LETTER_NOUN
MAX_NAMED = 5  # earlier letters named in the body; the table names every one


@dataclass(frozen=True)
class Wording:
    type_name: str
    title: str
    addressee: str
    body: list[str]
    requirement: str
    notice: str  # the outbox message


def self_name(issuer_name: str) -> str:
    for suffix in ("局", "中心", "委员会", "办公室"):
        if issuer_name.endswith(suffix):
            return "我" + ("委" if suffix == "委员会" else "办" if suffix == "办公室" else suffix)
    return "我单位"


@dataclass(frozen=True)
class _Facts:
    noun: str
    n: int
    late: list[dict[str, Any]]
    ahead: list[dict[str, Any]]
    worst: int
    replies: bool  # the cases are letter cases: the unit owes a reply (反馈), not a rectification

    @property
    def all_late(self) -> bool:
        return not self.ahead

    @property
    def deadline(self) -> str:
        return "反馈期限" if self.replies else "整改期限"

    @property
    def done(self) -> str:
        return "按要求反馈" if self.replies else "整改到位"


def _facts(cases: list[Case], rows: list[dict[str, Any]]) -> _Facts:
    kinds = {CaseKind(c.kind) for c in cases}
    noun = KIND_NOUN[kinds.pop()] if len(kinds) == 1 else "案件"
    late = [r for r in rows if r["overdue"]]
    ahead = [r for r in rows if not r["overdue"]]
    worst = max((int(r["days_overdue"]) for r in late), default=0)
    return _Facts(noun, len(rows), late, ahead, worst, noun == "督办事项")


def _situation(f: _Facts) -> str:
    """The facts of the set, as of today: overdue ones with their working days, the others as
    not yet due."""
    # "最长" only when several cases are overdue; a weekend after the deadline is 0 working days.
    worst = (
        (f"，超期{f.worst}个工作日" if len(f.late) == 1 else f"，最长超期{f.worst}个工作日")
        if f.worst > 0
        else ""
    )
    if f.all_late:
        return f"你单位承办的以下{f.n}件{f.noun}已超过{f.deadline}{worst}，至今尚未{f.done}"
    if not f.late:
        due = f"{f.deadline}为{f.ahead[0]['due_cn']}" if f.n == 1 and f.ahead[0]["due_cn"] else ""
        return f"你单位承办的以下{f.n}件{f.noun}尚未{f.done}，" + (
            f"{due}，尚未到期" if due else f"均未到{f.deadline}"
        )
    return (
        f"你单位承办的以下{f.n}件{f.noun}尚未{f.done}，其中{len(f.late)}件已超过{f.deadline}"
        f"{worst}，{len(f.ahead)}件尚未到{f.deadline}"
    )


def _earlier(f: _Facts, rows: list[dict[str, Any]], we: str) -> str:
    """Earlier letters about these cases, named; empty when there are none."""
    named: dict[str, str] = {}
    with_earlier = 0
    for row in rows:
        earlier = row.get("earlier") or []
        with_earlier += bool(earlier)
        for e in earlier:
            named.setdefault(e["number"], f"{e['type_name']}（{e['number']}，{e['date']}）")
    if not named:
        return ""
    letters = list(named.values())
    listed = "、".join(letters[:MAX_NAMED]) + (
        f"等{len(letters)}份函件" if len(letters) > MAX_NAMED else ""
    )
    which = f"上述{f.noun}" if with_earlier == f.n else f"其中{with_earlier}件{f.noun}"
    where = "" if f.n == 1 else "（各件所涉函件见下表“此前函件”栏）"
    return f"此前，{we}已就{which}发出{listed}{where}，至今仍未{f.done}。"


def _hurry(f: _Facts) -> str:
    """What the not-yet-due cases are asked: done by their own deadline."""
    if not f.ahead:
        return ""
    dues = {r["due_cn"] for r in f.ahead}
    by = (
        f"于{dues.pop()}前"
        if len(dues) == 1 and "" not in dues
        else f"在各自{f.deadline}（见下表）前"
    )
    if not f.late:
        return f"，确保{by}{f.done}"
    return f"；对尚未到期的{len(f.ahead)}件，请加快整改，确保{by}{f.done}"


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
    f = _facts(cases, rows)
    we = self_name(issuer_name)
    today = cn_date(now)
    reply = cn_date(reply_due_at) if reply_due_at else ""
    feedback = f"请于{reply}前将整改情况书面反馈{we}（在系统中签收本督办件并提交反馈材料）。"
    situation = _situation(f)
    earlier = _earlier(f, rows, we)
    late_word = "超期" if f.all_late else ""
    if letter_type == LetterType.reminder:
        title = f"关于加快办理{late_word}{f.noun}的提醒函"
        body = [f"经闭环管理系统核查，截至{today}，{situation}（详见下表）。{earlier}"]
        requirement = (
            "请你单位高度重视，立即组织力量加快办理，按要求完成整改"
            + _hurry(f)
            + "。请在系统中及时反馈办理结果，"
            + ("避免问题进一步超期。" if f.late else "避免超期。")
        )
    elif letter_type == LetterType.supervision:
        title = f"关于督促加快整改{late_word}{f.noun}的督办函"
        rules = "隐患排查治理闭环管理" if f.noun == "隐患" else "闭环管理"
        purpose = f"根据{rules}有关规定，现予督办。"
        body = [f"截至{today}，{situation}（详见下表）。{earlier}{purpose}"]
        requirement = (
            "请你单位接函后立即组织整改，逐件落实整改责任、措施和时限"
            + _hurry(f)
            + "。"
            + feedback
            + f"逾期未反馈或整改不到位的，{we}将发出警示函并予以通报。"
        )
    else:
        if f.replies and f.all_late:
            title = "关于督办事项逾期未反馈的警示函"
        elif f.all_late:
            title = f"关于超期{f.noun}逾期未整改到位的警示函"
        else:
            title = f"关于加快{f.noun}整改的警示函"
        purpose = "相关事项已列入挂牌督办，并将在下期通报中予以通报。"
        body = [f"截至{today}，{situation}（详见下表）。{earlier}{purpose}"]
        requirement = (
            "请你单位主要负责同志亲自过问、亲自部署，立即采取有效措施"
            + ("整改到位" if not f.ahead else "推进整改")
            + _hurry(f)
            + "。"
            + feedback
            + f"对仍不落实整改的，{we}将按有关规定严肃处理。"
        )
    addressee = f"{unit.name}主要负责同志" if letter_type == LetterType.warning else unit.name
    numbers = "、".join(c.number for c in cases[:10]) + ("等" if f.n > 10 else "")
    notice = (
        f"{issuer_name}向你单位发出{TYPE_NAME[letter_type]}（{number}）：{title}。"
        f"涉及{f.n}件{f.noun}：{numbers}"
        + (f"（其中{len(f.late)}件已超期）" if f.late and f.ahead else "")
        + "。"
        + (f"请于{reply}前书面反馈。" if reply else "")
        + "请登录闭环系统查看函件全文。"
    )
    return Wording(TYPE_NAME[letter_type], title, addressee, body, requirement, notice)
