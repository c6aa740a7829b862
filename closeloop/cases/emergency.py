"""Emergency information within 30 minutes (紧急信息30分钟直达).

A case is an emergency when it is filed urgent or in an emergency category (Category.emergency,
on the item or on its class). Filing sets Case.emergency and, in the same transaction, alerts
at once the supervisors whose region covers the case's place: the region's own (street,
community) and the district's leadership (supervisors of the district, the root of every path)
— on every channel each has: in-app, email, and the user's robot webhook
(notifications/emergency.py). Quiet hours never hold them. Delivery records the first pushed
notice delivered as Case.alerted_at; the reports measure filing → alerted_at.
"""

from datetime import datetime

from sqlmodel import Session

from closeloop.text import Msg, local_minute
from models.case import Case
from models.enums import Role
from models.org import Category
from notifications import emergency as alerts
from notifications import outbox


def is_emergency(session: Session, *, urgent: bool, category: Category | None) -> bool:
    if urgent:
        return True
    if category is None:
        return False
    if category.emergency:
        return True
    parent = session.get(Category, category.parent_code) if category.parent_code else None
    return bool(parent and parent.emergency)


def alert(session: Session, *, case: Case, now: datetime) -> None:
    """The emergency messages of a case just filed (nothing for a routine case)."""
    if not case.emergency:
        return
    assert case.id is not None
    users = outbox.covering_users(session, region_path=case.region_path, roles=(Role.supervisor,))
    category = session.get(Category, case.category_code) if case.category_code else None
    what = category.name if category else "—"
    why = Msg("紧急", "urgent") if case.urgent else Msg("紧急类别", "emergency category")
    at = local_minute(case.reported_at)
    alerts.alert_users(
        session,
        users,
        subject=Msg(f"紧急信息：{case.number}", f"Emergency: {case.number}"),
        body=Msg(
            f"紧急信息（{why:zh}）：{case.number}「{case.title}」\n类别：{what}\n"
            f"地点：{case.address or '—'}\n上报时间：{at}",
            f"Emergency ({why:en}): case {case.number} “{case.title}”\ncategory: {what}\n"
            f"place: {case.address or '—'}\nreported: {at} (Asia/Shanghai)",
        ),
        now=now,
        case_id=case.id,
        payload={"case_id": case.id, "case_number": case.number, "urgent": case.urgent},
    )
    session.flush()
