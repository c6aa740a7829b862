"""The demo district that `closeloop serve --demo` loads: Luohu's streets, communities and grids,
its units, a grid patrol checklist, a user of every role, and some 300 cases of the last 90 days.

Every case is filed and walked through the real services with a `now` in the past, so its
history, deadlines, requests and evidence are exactly what the live system would have written.
The history is played in time order across all cases (closeloop.demo.walk), with the escalation
service's daily run and the monthly reports among it, so letters, listings and reports exist
with their real past dates when the demo opens.
The content is decided by `random.Random(seed)` and `now`; only the passwords are random. Loading
is one transaction and happens once: on a database that has the demo, `load_demo` hands out fresh
passwords for the demo accounts instead.
"""

import json
import random
import secrets
import sys
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import Session, select

from closeloop.auth import service as auth
from closeloop.auth.policy import Principal
from closeloop.auth.security import hash_one_time_password
from closeloop.calendar.days import SHANGHAI
from closeloop.db import transaction
from closeloop.demo import data as D
from closeloop.demo.cohandling import load_cohandling
from closeloop.demo.dossier import load_dossier
from closeloop.demo.emergency import load_emergency
from closeloop.demo.enterprises import load_enterprises
from closeloop.demo.followup import load_followup
from closeloop.demo.geometry import load_geometry
from closeloop.demo.inspections import load_inspections
from closeloop.demo.returns import load_returns
from closeloop.demo.risk import load_risk
from closeloop.demo.robots import load_robots
from closeloop.demo.walk import CALENDAR, Player, make_reports
from closeloop.errors import Conflict
from closeloop.org import service as org
from closeloop.text import Msg
from models.case import Location
from models.enums import CaseKind, Grade, RegionLevel, Role
from models.org import CategoryCreate, Region, RegionCreate, UnitCreate
from models.system import AppSetting
from models.user import User, UserCreate


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    display_name: str
    jurisdiction: str
    password: str


def load_demo(engine: Engine, *, now: datetime, seed: int = 2025) -> list[DemoUser]:
    """Load the demo district once; on later calls give its accounts fresh passwords."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        with transaction(engine) as session:
            if _loaded(session):
                return _reset_passwords(session)
            return _load(session, now=now, seed=seed)
    except Conflict:
        # Another process loaded it at the same moment and won: hand out fresh passwords.
        with transaction(engine) as session:
            if not _loaded(session):
                raise
            return _reset_passwords(session)


def _loaded(session: Session) -> bool:
    if session.get(AppSetting, D.MARKER_KEY) is not None:
        return True
    code, name = D.DISTRICT
    if session.get(Region, code) is not None:
        raise Conflict(
            Msg(
                f"区域 {code}（{name}）已存在，且不是演示数据",
                f"region {code} exists but was not "
                "loaded by the demo; load the demo into an empty database",
            )
        )
    return False


def _reset_passwords(session: Session) -> list[DemoUser]:
    result = []
    for acc in D.accounts():
        user = session.exec(select(User).where(User.username == acc.username)).first()
        if user is None:
            continue
        password = secrets.token_urlsafe(9)
        user.password_hash = hash_one_time_password(password)  # random: see _build_org
        auth.revoke_all(session, user=user)  # tokens issued under the old password stop working
        name = user.display_name
        result.append(DemoUser(user.username, user.role, name, acc.jurisdiction, password))
    session.flush()
    return result


def _load(session: Session, *, now: datetime, seed: int) -> list[DemoUser]:
    people, users = _build_org(session, now=now - timedelta(days=120))
    specs = plan(now=now, seed=seed)
    Player(session, people, now=now, rng=random.Random(f"{seed}:walk"), specs=specs).play()
    load_enterprises(session, now=now - timedelta(days=100))
    # The safety-production side, each after the enterprises it refers to:
    load_inspections(session, now=now, people=people)
    load_geometry(session, now=now - timedelta(days=100), people=people)
    load_risk(session, now=now, people=people)
    load_dossier(session, now=now, people=people)
    load_followup(session, now=now, people=people)
    load_returns(session, now=now, people=people)  # return review and re-dispatch
    load_cohandling(session, now=now, people=people)  # 主办/协办
    load_emergency(session, now=now, people=people)
    # Last: the robot's three messages are the only ones to it (nothing else waits to be sent).
    load_robots(session, now=now, people=people)
    make_reports(session, now=now, specs=specs)
    marker = {"district": D.DISTRICT[0], "seed": seed, "cases": len(specs), "now": now.isoformat()}
    session.add(AppSetting(key=D.MARKER_KEY, value=json.dumps(marker)))
    session.flush()
    return users


def _build_org(session: Session, *, now: datetime) -> tuple[dict[str, Principal], list[DemoUser]]:
    code, name = D.DISTRICT
    org.create_region(session, data=RegionCreate(code=code, name=name, level=RegionLevel.district))
    for street in D.STREETS:
        org.create_region(
            session,
            data=RegionCreate(
                code=street.code, name=street.name, level=RegionLevel.street, parent_code=code
            ),
        )
        for c in street.communities:
            org.create_region(
                session,
                data=RegionCreate(
                    code=c.code, name=c.name, level=RegionLevel.community, parent_code=street.code
                ),
            )
    for g in D.grids():
        org.create_region(
            session,
            data=RegionCreate(
                code=g.code, name=g.name, level=RegionLevel.grid, parent_code=g.community.code
            ),
        )
    for unit, unit_name, short in D.UNITS:
        org.create_unit(session, data=UnitCreate(code=unit, name=unit_name, short_name=short))
    for class_code, class_name, items in D.CLASSES:
        org.create_category(session, data=CategoryCreate(code=class_code, name=class_name))
        for it in items:
            unit = D.STREET_FALLBACK if it.unit == D.STREET_UNIT else it.unit
            org.create_category(
                session,
                data=CategoryCreate(
                    code=it.code,
                    name=it.name,
                    parent_code=class_code,
                    unit_code=unit,
                    limit_days=it.limit_days,
                    sign_hours=it.sign_hours,
                ),
            )
    people: dict[str, Principal] = {}
    users = []
    for acc in D.accounts():
        # Random (72 bits), not a person's choice: hashed lightly like a one-time password
        # (security.hash_one_time_password) — full-cost argon2 took ~0.15 s for each of the 18
        # accounts, at every start of `serve --demo`.
        password = secrets.token_urlsafe(9)
        user = org.create_user(
            session,
            now=now,
            generated=True,
            data=UserCreate(
                username=acc.username,
                password=password,
                display_name=acc.display_name,
                role=acc.role,
                unit_code=acc.unit_code,
                region_code=acc.region_code,
            ),
        )
        people[acc.username] = auth.principal_of(session, user)
        users.append(DemoUser(acc.username, acc.role, acc.display_name, acc.jurisdiction, password))
    return people, users


def plan(*, now: datetime, seed: int) -> list[D.Spec]:
    """The demo's cases, in the order they are filed (by reported_at). Pure: no database."""
    rng = random.Random(seed)
    items = [it for _, _, class_items in D.CLASSES for it in class_items]
    all_grids = D.grids()
    paths = [path for path, count in D.PLAN.items() for _ in range(count)]
    rng.shuffle(paths)
    specs = [_spec(rng, path, items, all_grids) for path in paths]
    hazards = [s for s in specs if s.kind == CaseKind.hazard and s.path != "cancelled"]
    majors = [s for s in hazards if s.item.major]
    for s in rng.sample(majors, min(D.MAJOR_HAZARDS, len(majors))):
        s.grade, s.limit_days = Grade.major, 20  # 重大隐患：限期二十个工作日整改
    for s in specs:
        s.reported_at = _reported_at(rng, now, s)
    specs.sort(key=lambda s: s.reported_at)
    for i, s in enumerate(specs):
        if s.path == "merged":
            _make_duplicate(rng, specs, i)
    return specs


def _spec(rng: random.Random, path: str, items: list[D.Item], all_grids: list[D.Grid]) -> D.Spec:
    item = rng.choices(items, weights=[it.weight for it in items])[0]
    grid = rng.choice(all_grids)
    c = grid.community
    kind = CaseKind.hazard if path != "merged" and rng.random() < item.hazard else CaseKind.event
    words = {
        "road": rng.choice(c.roads),
        "place": rng.choice(c.places),
        "shop": rng.choice(D.SHOPS),
        "n": rng.randint(2, 12),
    }
    address = f"{words['road']}{rng.randint(1, 399)}号{words['place']}"
    text = rng.choice(item.texts).format(addr=address, **words)
    if kind == CaseKind.hazard:
        filer = D.SUPERVISOR[0] if rng.random() < 0.3 else D.DISPATCHER[0]
        text = rng.choice(D.INSPECTION) + text
    elif grid.worker and rng.random() < 0.9:
        filer = grid.worker
    else:
        filer = D.DISPATCHER[0]
        text = rng.choice(D.HOTLINE) + text
    right = grid.street.office if item.unit == D.STREET_UNIT else item.unit
    return D.Spec(
        path=path,
        item=item,
        grid=grid,
        kind=kind,
        urgent=rng.random() < item.urgent,
        title=rng.choice(item.titles).format(**words),
        description=text,
        address=address,
        location=Location(
            # Inside the grid's polygon (closeloop/demo/geometry.py): grid 01 is the west half.
            lat=round(c.lat + rng.uniform(-0.0011, 0.0011), 6),
            lon=round(
                c.lon + (-1 if grid.code.endswith("01") else 1) * rng.uniform(2e-4, 17e-4), 6
            ),
        ),
        filer=filer,
        self_verify=filer == grid.worker and rng.random() < 0.25,
        grade=Grade.general if kind == CaseKind.hazard else None,
        limit_days=rng.choice([None, 5, 10]) if kind == CaseKind.hazard else None,
        wrong_unit=rng.choice([u for u, _, _ in D.UNITS if u != right]),
    )


def _reported_at(rng: random.Random, now: datetime, s: D.Spec) -> datetime:
    if s.path in D.CLOSED_EXTRA:
        low, high = min(s.days * 1.5 + D.CLOSED_EXTRA[s.path], 80.0), 88.0
    elif s.path == "rectifying_overdue":
        low, high = min(s.days * 1.6 + 8, 80.0), 88.0
    else:
        low, high = D.OPEN_AGES[s.path]
    local = (now - timedelta(days=rng.uniform(low, high))).astimezone(SHANGHAI)
    if not 8 <= local.hour < 20:  # grid workers patrol 08:00–20:00: move back into that window
        day = local - timedelta(days=1) if local.hour < 8 else local
        local = day.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59))
    while s.kind == CaseKind.hazard and not CALENDAR.is_workday(local.date()):
        local -= timedelta(days=1)  # inspections happen on working days
    return local.astimezone(UTC)


def _make_duplicate(rng: random.Random, specs: list[D.Spec], i: int) -> None:
    """A hotline call about something already reported: filed by the desk, then merged."""
    s = specs[i]
    usable = [j for j in range(i) if specs[j].path not in ("cancelled", "merged")]
    recent = [
        j
        for j in usable
        if s.reported_at - specs[j].reported_at < timedelta(days=10)
        and specs[j].kind == CaseKind.event
    ]
    if not usable:
        s.path = "cancelled"
        return
    t = specs[rng.choice(recent or usable)]
    s.target = specs.index(t)
    s.item, s.grid, s.title, s.address, s.location = t.item, t.grid, t.title, t.address, t.location
    s.kind, s.grade, s.urgent, s.filer = CaseKind.event, None, False, D.DISPATCHER[0]
    s.description = f"{D.HOTLINE[0]}{t.address}{t.item.name}问题，与此前上报情况相同。"


def print_users(users: list[DemoUser], file: TextIO | None = None) -> None:
    """The demo accounts as a table, for the console of `closeloop serve --demo`."""
    out = file or sys.stdout
    header = (
        "用户名 Username",
        "角色 Role",
        "姓名 Name",
        "辖区/单位 Jurisdiction",
        "密码 Password",
    )
    rows = [
        (
            u.username,
            f"{D.ROLE_NAMES.get(u.role, u.role)} {u.role}",
            u.display_name,
            u.jurisdiction,
            u.password,
        )
        for u in users
    ]
    widths = [max(_width(r[k]) for r in [header, *rows]) for k in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        padded = (c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    print(
        "演示账号（每次启动重新生成密码） / demo accounts (new passwords on every start)", file=out
    )
    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
