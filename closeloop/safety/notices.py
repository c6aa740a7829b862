"""Listing and delisting notices of major hazards (挂牌督办公告 / 摘牌公告).

A notice falls due when its event happens — the first 五到位 plan (listing, closeloop.safety.plans)
or the closing (销号) of the major hazard (delisting, written by the cases layer:
closeloop.cases.major.open_notice) — and must be published within 5 working days. Publishing (a
supervisor within jurisdiction) draws its number without gaps per type and Shanghai year, like a
letter's 文号 (罗应急挂〔2026〕1号 / 罗应急摘〔2026〕1号); a published notice is never changed. A
notice left unpublished past its due time tells the district's supervisors once (escalate_late).
"""

from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth.policy import Principal
from closeloop.calendar.days import SHANGHAI
from closeloop.cases import numbering
from closeloop.cases import service as cases
from closeloop.config import Settings, get_settings
from closeloop.errors import Conflict, Forbidden, NotFound
from closeloop.safety import fires
from closeloop.safety.dossier_common import record
from closeloop.text import Msg, local_minute
from models.case import Case
from models.dossier import Notice, NoticePublic
from models.enums import CaseState, HistoryAction, NoticeType, Role
from notifications import outbox

TYPE_CHAR = {NoticeType.listing: "挂", NoticeType.delisting: "摘"}
LATE_LEVEL = "publish_overdue"


def notice_number(issuer: str, notice_type: NoticeType, year: int, seq: int) -> str:
    """罗应急挂〔2026〕1号"""
    return f"{issuer}{TYPE_CHAR[notice_type]}〔{year}〕{seq}号"


def list_notices(
    session: Session,
    *,
    actor: Principal,
    case_id: int | None = None,
    notice_type: NoticeType | None = None,
    published: bool | None = None,
) -> list[tuple[Notice, Case]]:
    """The notices of the cases the caller may see: unpublished first (the most urgent first),
    then the published, newest first."""
    stmt = select(Notice, Case).join(Case, col(Case.id) == col(Notice.case_id))
    stmt = cases.jurisdiction(stmt, actor)
    if case_id is not None:
        stmt = stmt.where(Notice.case_id == case_id)
    if notice_type is not None:
        stmt = stmt.where(Notice.type == notice_type)
    if published is not None:
        stmt = stmt.where(
            col(Notice.published_at).is_not(None)
            if published
            else col(Notice.published_at).is_(None)
        )
    rows = list(session.exec(stmt))
    pending = sorted((r for r in rows if r[0].published_at is None), key=lambda r: r[0].due_at)
    done = sorted(
        (r for r in rows if r[0].published_at is not None),
        key=lambda r: (r[0].published_at, r[0].id or 0),
        reverse=True,
    )
    return pending + done


def get_notice(
    session: Session, *, actor: Principal, notice_id: int, lock: bool = False
) -> tuple[Notice, Case]:
    stmt = select(Notice).where(Notice.id == notice_id)
    if lock:
        stmt = stmt.with_for_update()
    notice = session.exec(stmt).first()
    if notice is None:
        raise NotFound(Msg(f"公告 {notice_id} 不存在", f"notice {notice_id} does not exist"))
    case = cases.load_case(session, actor=actor, case_id=notice.case_id)
    return notice, case


def publish_notice(
    session: Session,
    *,
    actor: Principal,
    notice_id: int,
    now: datetime,
    settings: Settings | None = None,
) -> Notice:
    """Number and publish a notice (supervisor). 409 if it is published already, or if it is a
    delisting notice and the hazard is no longer closed (reopened)."""
    if actor.role != Role.supervisor:
        raise Forbidden(Msg("公告由督办人员发布", "a notice is published by a supervisor"))
    notice, case = get_notice(session, actor=actor, notice_id=notice_id, lock=True)
    kind = labels.NOTICE_TYPE[notice.type]
    if notice.published_at is not None:
        raise Conflict(
            Msg(
                f"{kind:zh}已发布（{notice.number}），不能再次发布或修改",
                f"this {kind.en.lower()} was published already ({notice.number}); "
                "a published notice never changes",
            )
        )
    if notice.type == NoticeType.delisting and case.state != CaseState.closed:
        state = labels.STATE[CaseState(case.state)]
        raise Conflict(
            Msg(
                f"案件{state:zh}（已重新打开），摘牌公告须待再次销号后发布",
                f"the case is {state.en.lower()} (reopened): its delisting notice waits until "
                "it is closed again",
            )
        )
    settings = settings or get_settings()
    year = now.astimezone(SHANGHAI).year
    issuer = settings.issuer_short
    seq = numbering.next_value(session, f"notice:{issuer}:{notice.type}:{year}")
    notice.number = notice_number(issuer, NoticeType(notice.type), year, seq)
    notice.year, notice.seq = year, seq
    notice.published_at, notice.published_by = now, actor.id
    session.add(notice)
    session.flush()
    record(
        session,
        case,
        action=HistoryAction.notice,
        actor=actor,
        now=now,
        note=f"发布{kind.zh}：{notice.number}",
        data={"notice_id": notice.id, "type": str(notice.type), "number": notice.number},
    )
    session.flush()
    return notice


def is_overdue(notice: Notice, now: datetime) -> bool:
    return notice.published_at is None and now > notice.due_at


def notice_public(notice: Notice, case: Case, *, now: datetime) -> NoticePublic:
    return NoticePublic(
        **notice.model_dump(exclude={"type"}),
        type=NoticeType(notice.type),
        case_number=case.number,
        case_title=case.title,
        overdue=is_overdue(notice, now),
    )


def district_path(region_path: str) -> str:
    """ "/D/S/C/G/" → "/D/": the district a case belongs to ("/" stays "/")."""
    parts = [p for p in region_path.split("/") if p]
    return f"/{parts[0]}/" if parts else "/"


def escalate_late(session: Session, *, now: datetime, settings: Settings | None = None) -> int:
    """Each notice unpublished past its due time tells the supervisors of its case's district,
    once (claimed in deadline_fire: however often this runs, or concurrently). Returns how many
    fired now."""
    rows = list(
        session.exec(
            select(Notice, Case)
            .join(Case, col(Case.id) == col(Notice.case_id))
            .where(col(Notice.published_at).is_(None), col(Notice.due_at) < now)
            .order_by(col(Notice.id))
        )
    )
    won = fires.claim(
        session, subject="notice", ids=[n.id for n, _ in rows if n.id], level=LATE_LEVEL, now=now
    )
    for notice, case in rows:
        if notice.id not in won:
            continue
        kind = labels.NOTICE_TYPE[notice.type]
        due = local_minute(notice.due_at)
        outbox.notify_region_role(
            session,
            region_path=district_path(case.region_path),
            roles=(Role.supervisor,),
            event="notice_overdue",
            subject=Msg(f"{kind.zh}逾期未发布：{case.number}", f"{kind.en} overdue: {case.number}"),
            body=Msg(
                f"重大隐患 {case.number}（{case.title}）的{kind.zh}应于 {due} 前发布，至今未发布。"
                "请尽快发布。",
                f"The {kind.en.lower()} of major hazard {case.number} ({case.title}) was due "
                f"by {due} and is not published yet. Please publish it.",
            ),
            now=now,
            key=f"notice:{notice.id}:{LATE_LEVEL}",
            case_id=case.id,
            payload={"notice_id": notice.id, "type": str(notice.type)},
        )
    return len(won)
