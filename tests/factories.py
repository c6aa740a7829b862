"""Plain functions that build test data through the services (and users with one shared hash)."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Engine, event
from sqlmodel import Session

from closeloop.auth import security
from closeloop.auth import service as auth
from closeloop.auth.policy import Principal
from closeloop.cases import reasons
from closeloop.cases import service as cases
from closeloop.org import service as org
from models.case import ActionInput, Case, CaseCreate
from models.enums import CaseKind, CaseState, Grade, RegionLevel, Role
from models.org import CategoryCreate, RegionCreate, UnitCreate
from models.user import User

PASSWORD = "password-123"
NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)

REGIONS = [
    ("D1", "罗湖区", RegionLevel.district, None),
    ("S1", "东门街道", RegionLevel.street, "D1"),
    ("S2", "南湖街道", RegionLevel.street, "D1"),
    ("C1", "湖贝社区", RegionLevel.community, "S1"),
    ("C2", "新南社区", RegionLevel.community, "S2"),
    ("G1", "湖贝第一网格", RegionLevel.grid, "C1"),
    ("G2", "湖贝第二网格", RegionLevel.grid, "C1"),
    ("G3", "新南第一网格", RegionLevel.grid, "C2"),
]
UNITS = [("ZJ", "区住房和建设局", "住建"), ("SW", "区水务局", "水务")]
CATEGORIES = [
    ("01", "市容环境", None, None, None, None),
    ("0101", "占道经营", "01", "ZJ", 5, 2.0),
    ("0102", "污水冒溢", "01", "SW", 3, 2.0),
    ("02", "安全隐患", None, None, None, None),
    ("0201", "建筑施工安全", "02", "ZJ", 10, 4.0),
]
USERS = [
    ("admin", Role.admin, None, None),
    ("rep1", Role.reporter, None, "G1"),
    ("rep3", Role.reporter, None, "G3"),
    ("disp", Role.dispatcher, None, "D1"),
    ("disp_s2", Role.dispatcher, None, "S2"),
    ("sup", Role.supervisor, None, "D1"),
    ("sup_s2", Role.supervisor, None, "S2"),
    ("h_zj", Role.handler, "ZJ", None),
    ("h_sw", Role.handler, "SW", None),
]


@lru_cache
def password_hash() -> str:
    return security.hash_password(PASSWORD)


@dataclass
class Org:
    users: dict[str, Principal] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Principal:
        return self.users[username]


def build_org(session: Session) -> Org:
    for code, name, level, parent in REGIONS:
        org.create_region(
            session, data=RegionCreate(code=code, name=name, level=level, parent_code=parent)
        )
    for code, name, short in UNITS:
        org.create_unit(session, data=UnitCreate(code=code, name=name, short_name=short))
    for code, name, parent, unit, limit, sign in CATEGORIES:
        org.create_category(
            session,
            data=CategoryCreate(
                code=code,
                name=name,
                parent_code=parent,
                unit_code=unit,
                limit_days=limit,
                sign_hours=sign,
            ),
        )
    reasons.ensure_usual(session)  # the migration's return reasons (the tests wipe every table)
    result = Org()
    for username, role, unit, region in USERS:
        user = User(
            username=username,
            display_name=f"{username} 测试",
            role=role,
            unit_code=unit,
            region_code=region,
            password_hash=password_hash(),
            created_at=NOW,
        )
        session.add(user)
        session.flush()
        result.users[username] = auth.principal_of(session, user)
    return result


def new_case(
    session: Session,
    o: Org,
    *,
    kind: CaseKind = CaseKind.event,
    grade: Grade | None = None,
    by: str | None = None,
    grid: str = "G1",
    category: str = "0101",
    now: datetime = NOW,
    urgent: bool = False,
) -> Case:
    if kind == CaseKind.hazard and grade is None:
        grade = Grade.general
    filer = by or ("rep1" if kind == CaseKind.event else "disp")
    return cases.file_case(
        session,
        actor=o[filer],
        now=now,
        data=CaseCreate(
            kind=kind,
            title="测试案件",
            description="描述",
            category_code=category,
            grid_code=grid,
            address="东门路1号",
            grade=grade,
            urgent=urgent,
        ),
    )


def act(
    session: Session, o: Org, case: Case, action: str, by: str, now: datetime = NOW, **data: object
) -> Case:
    assert case.id is not None
    return cases.perform(
        session, actor=o[by], case_id=case.id, action=action, data=ActionInput(**data), now=now
    )


def evidence(session: Session, o: Org, case: Case, by: str = "h_zj", now: datetime = NOW) -> int:
    import io

    from closeloop.cases import attachments

    assert case.id is not None
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    row = attachments.add_attachment(
        session, actor=o[by], case_id=case.id, filename="after.png", stream=io.BytesIO(png), now=now
    )
    assert row.id is not None
    return row.id


def verifier_for(case: Case) -> str:
    return "disp" if case.kind == CaseKind.event else "sup"


def is_major(case: Case) -> bool:
    return case.kind == CaseKind.hazard and case.grade == Grade.major


def plan_for(session: Session, o: Org, case: Case, now: datetime = NOW, by: str = "h_zj") -> None:
    """A major hazard's 五到位 plan (the lifecycle asks for it before submit)."""
    from datetime import timedelta

    from closeloop.safety import plans
    from models.dossier import PlanIn

    assert case.id is not None
    plans.submit_plan(
        session,
        actor=o[by],
        case_id=case.id,
        now=now,
        data=PlanIn(
            measures="加装防护设施",
            funds="10 万元",
            responsible="张三",
            deadline=(now + timedelta(days=30)).date(),
            emergency_plan="设置警戒区，专人值守",
        ),
    )


def recheck_pass(session: Session, o: Org, case: Case, now: datetime = NOW) -> None:
    """A supervisor's passing re-inspection (a major hazard's approve asks for it)."""
    from closeloop.safety import rechecks
    from models.dossier import RecheckIn
    from models.enums import RecheckResult

    assert case.id is not None
    rechecks.record_recheck(
        session,
        actor=o["sup"],
        case_id=case.id,
        now=now,
        data=RecheckIn(result=RecheckResult.pass_, note="复查合格"),
    )


def case_in(
    session: Session,
    o: Org,
    state: CaseState,
    *,
    kind: CaseKind = CaseKind.event,
    grade: Grade | None = None,
    now: datetime = NOW,
) -> Case:
    """A case of this kind walked through the real services into `state`."""
    case = new_case(session, o, kind=kind, grade=grade, now=now)
    if state == CaseState.reported:
        return case
    if state == CaseState.cancelled:
        return act(session, o, case, "cancel", "disp", now, reason="不属于受理范围")
    act(session, o, case, "dispatch", "disp", now, unit_code="ZJ")
    if state == CaseState.dispatched:
        return case
    act(session, o, case, "sign", "h_zj", now)
    if is_major(case):  # a major hazard's plan and recheck: the dossier (safety/plans, rechecks)
        plan_for(session, o, case, now)
    if state == CaseState.rectifying:
        return case
    if state == CaseState.suspended:
        return act(session, o, case, "suspend", "sup", now, reason="等待产权单位配合")
    ids = [evidence(session, o, case, now=now)]
    act(session, o, case, "submit", "h_zj", now, note="已整改", attachment_ids=ids)
    if is_major(case):
        recheck_pass(session, o, case, now)
    if state == CaseState.verifying:
        return case
    return act(session, o, case, "approve", verifier_for(case), now, note="核查通过")


# The body of POST /api/v1/cases for an event in the test district (build_org's G1, 0101).
EVENT_BODY = {
    "kind": "event",
    "title": "占道经营",
    "description": "早市摊贩占道",
    "category_code": "0101",
    "grid_code": "G1",
    "address": "东门路12号",
    "location": {"lat": 22.548, "lon": 114.118},
}


# A ledger row for imports.import_ledger: (number, state, grid, dispatched_at, due_at, closed_at).
LedgerRow = tuple[str, str, str, str | None, str | None, str | None]


def ledger_rows(entries: Sequence[LedgerRow], *, reported_at: str) -> list[dict[str, str]]:
    """Import rows of events in category 0101 filed at `reported_at`, sent to ZJ when
    dispatched (the import's columns; empty cells for the times not given)."""
    return [
        {
            "number": number,
            "kind": "event",
            "title": "台账",
            "category_code": "0101",
            "grid_code": grid,
            "unit_code": "ZJ" if dispatched else "",
            "state": state,
            "reported_at": reported_at,
            "dispatched_at": dispatched or "",
            "due_at": due or "",
            "closed_at": closed or "",
        }
        for number, state, grid, dispatched, due, closed in entries
    ]


@contextmanager
def statements(engine: Engine, kind: str = "") -> Iterator[list[str]]:
    """Every statement sent to the database inside the block, in order (`kind`: only those
    starting with that word, "SELECT")."""
    seen: list[str] = []

    def sent(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(kind):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", sent)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", sent)


def quiet_run(session: Session, engine: Engine, run: Callable[[], int]) -> int:
    """The statements an escalation step `run()` sends when it has nobody to tell: asserts it
    told nobody (returned 0) and wrote nothing (every statement a SELECT)."""
    session.flush()
    with statements(engine) as sent:
        told = run()
    assert told == 0
    assert not [x for x in sent if not x.lstrip().upper().startswith("SELECT")], sent
    return len(sent)
