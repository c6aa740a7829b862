"""The demo district's group robot: unit CG (城管) posts to a WeCom robot, and the admin's
delivery page (/admin/outbox) shows one message delivered, one folded into a digest that was
delivered when the robot's minute allowed, and one refused with WeCom's code 93000 in words.

The robot's address is under the reserved .example domain: it never resolves, so nothing leaves
the machine if delivery runs (`closeloop serve` delivers every minute; new messages to the robot
then fail as an unreachable address, which is what the page shows for them)."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal
from closeloop.config import get_settings
from closeloop.org import service as org
from models.case import Case
from models.enums import Channel, WebhookKind
from models.org import UnitUpdate
from notifications import delivery, folding, outbox, robots
from notifications.channels import SendError

UNIT = "CG"
ROBOT_URL = "https://robot.luohu.example/cgi-bin/webhook/send?key=demo-cg"


def load_robots(session: Session, *, now: datetime, people: dict[str, Principal]) -> None:
    del people  # the robot is the unit's; no one acts
    org.update_unit(
        session,
        code=UNIT,
        data=UnitUpdate(webhook_url=ROBOT_URL, webhook_kind=WebhookKind.wecom.value),
    )
    cases = session.exec(
        select(Case).where(Case.unit_code == UNIT).order_by(col(Case.id).desc()).limit(3)
    ).all()
    at = now - timedelta(minutes=30)
    hooks = []
    for n, case in enumerate(cases):
        added = outbox.notify_unit(
            session,
            unit_code=UNIT,
            event="due_soon",
            subject=f"临期提醒：{case.number} / due soon: {case.number}",
            body=f"临期提醒：{case.number}「{case.title}」\n\ndue soon: case {case.number}",
            now=at + timedelta(seconds=n),
            key=f"demo-robot:{case.id}",
            case_id=case.id,
            payload={"case_number": case.number},
        )
        hooks += [m for m in added if m.channel == Channel.webhook]
    if len(hooks) < 3:
        return
    settings = get_settings()  # the attempts and back-off: a refusal of 93000 is final anyway
    delivered, folded, refused = hooks
    delivery.record(session, msg=delivered, now=at, settings=settings, error=None)
    digest = folding.fold(session, msgs=[folded], due=at + timedelta(minutes=1), now=at)
    delivery.record(
        session, msg=digest, now=at + timedelta(minutes=1), settings=settings, error=None
    )
    reason, permanent = robots.refusal(
        WebhookKind.wecom, "errcode", 93000, {"errmsg": "invalid webhook url"}
    )
    delivery.record(
        session,
        msg=refused,
        now=at + timedelta(minutes=2),
        settings=settings,
        error=SendError(reason, permanent=permanent),
    )
    session.flush()
