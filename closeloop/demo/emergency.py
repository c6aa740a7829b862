"""The demo district's emergency information (紧急信息): 危险化学品违规储存 (0303) is flagged as an
emergency category, the supervisor (区应急管理局分管领导) gets an email address, and two events of
the last days reach him — an urgent flooded road at night, delivered in 8 minutes, and a
chemicals store in the emergency category, delivered in 41 minutes — each delivery recorded
through the delivery service's own `record`, as a real send is. The urgent events the walk filed
earlier reached nobody by push (the supervisor had no address then): the report counts them as
not delivered within 30 minutes, which is what the figure is for."""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.config import get_settings
from closeloop.demo import data as D
from closeloop.org import service as org
from models.case import Case, CaseCreate
from models.enums import CaseKind, Channel
from models.org import CategoryUpdate
from models.outbox import OutboxMessage
from models.user import User
from notifications import delivery

SUPERVISOR_EMAIL = "liujianguo@luohu.example"

# (category, urgent, title, description, days before now, Shanghai hour, minutes to delivery)
EVENTS = (
    (
        "0503",
        True,
        "暴雨后春风路隧道严重积水",
        "春风路隧道积水深约60厘米，有车辆熄火被困，需立即封闭交通并抽排。",
        3,
        21,
        8,
    ),
    (
        "0303",
        False,
        "湖贝路仓库违规储存危险化学品",
        "巡查发现湖贝路一仓库违规储存油漆稀释剂约40桶，无防火分隔，周边为居民楼。",
        1,
        15,
        41,
    ),
)


def load_emergency(session: Session, *, now: datetime, people: dict[str, Principal]) -> list[Case]:
    org.update_category(session, code="0303", data=CategoryUpdate(emergency=True))
    boss = session.exec(select(User).where(User.username == D.SUPERVISOR[0])).one()
    boss.email = SUPERVISOR_EMAIL
    session.add(boss)
    session.flush()
    reporter = people["lh-wg01"]  # the grid worker of 湖贝社区's first grid
    settings = get_settings()
    out = []
    for category, urgent, title, text, days, hour, minutes in EVENTS:
        day = (now - timedelta(days=days)).replace(minute=10, second=0, microsecond=0)
        at = day.replace(hour=(hour - 8) % 24)  # the Shanghai hour in UTC
        case = cases.file_case(
            session,
            actor=reporter,
            now=at,
            data=CaseCreate(
                kind=CaseKind.event,
                title=title,
                description=text,
                category_code=category,
                grid_code=reporter.region_code,
                urgent=urgent,
            ),
        )
        email = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id,
                OutboxMessage.event == "emergency",
                OutboxMessage.channel == Channel.email,
            )
        ).one()
        delivery.record(
            session, msg=email, now=at + timedelta(minutes=minutes), settings=settings, error=None
        )
        session.refresh(case)
        out.append(case)
    return out
