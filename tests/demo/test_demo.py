"""The demo district: realistic in size and shape, every case walked through the real services,
loaded once, and its accounts handed fresh passwords on every later load."""

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import col, select

from closeloop.auth import service as auth
from closeloop.db import new_session
from closeloop.demo import data as demo_data
from closeloop.demo import service as demo
from closeloop.errors import Conflict, Unauthorized
from closeloop.org import service as org
from models.case import Case
from models.enums import CaseKind, CaseState, RegionLevel, Role
from models.history import CaseHistory
from models.org import Category, Region, RegionCreate, Unit
from models.user import User

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, a Tuesday


def test_demo_district_is_realistic_walked_through_the_services_and_loaded_once(
    engine: Engine,
) -> None:
    users = demo.load_demo(engine, now=NOW)

    with new_session(engine) as s:
        levels = Counter(r.level for r in s.exec(select(Region)))
        assert levels[RegionLevel.district] == 1
        assert levels[RegionLevel.street] >= 3
        assert levels[RegionLevel.community] >= 6
        assert levels[RegionLevel.grid] >= 12
        assert len(s.exec(select(Unit)).all()) >= 5
        categories = s.exec(select(Category)).all()
        assert sum(c.parent_code is None for c in categories) >= 4
        assert sum(c.parent_code is not None for c in categories) >= 12
        assert {u.role for u in s.exec(select(User))} == set(Role)

        rows = s.exec(select(Case)).all()
        assert len(rows) >= 250
        states = Counter(r.state for r in rows)
        assert set(states) == set(CaseState), states
        assert all(NOW - timedelta(days=90) <= r.reported_at < NOW for r in rows)
        assert any(r.grade == "major" and r.listed for r in rows)
        assert any(r.urgent for r in rows)
        assert any(r.merged_into_id for r in rows)
        assert any(r.rework_count for r in rows)
        open_late = [r for r in rows if r.state in CaseState.dispatched_states() and r.due_at < NOW]
        assert open_late, "some open cases are overdue now"

        history: dict[int, list[CaseHistory]] = {}
        order = (col(CaseHistory.case_id), col(CaseHistory.seq))
        for h in s.exec(select(CaseHistory).order_by(*order)):
            history.setdefault(h.case_id, []).append(h)
        actions = Counter(h.action for entries in history.values() for h in entries)
        for action in ("return", "reject", "approve_extension", "suspend", "resume", "reopen"):
            assert actions[action] > 0, action
        for case in rows:
            entries = history[case.id or 0]
            # a letter case (督办件) is opened by the letter escalation issued, the others filed
            first = "issue" if case.kind == CaseKind.letter else "file"
            assert entries[0].action == first, case.number
            assert entries[0].at == case.reported_at
            assert entries[-1].to_state == case.state, case.number
            times = [h.at for h in entries]
            assert times == sorted(times) and times[-1] < NOW, case.number

    assert [u.username for u in users] == [a.username for a in demo_data.accounts()]
    assert len({u.password for u in users}) == len(users)

    # Loaded once: a second load (another day, another seed) adds nothing, but hands out new
    # passwords that work, and the old ones stop working.
    again = demo.load_demo(engine, now=NOW + timedelta(days=3), seed=7)
    with new_session(engine) as s:
        assert s.exec(select(func.count()).select_from(Case)).one() == len(rows)
        assert s.exec(select(func.count()).select_from(User)).one() == len(users)
    assert [u.username for u in again] == [u.username for u in users]
    old = {u.username: u.password for u in users}
    assert all(u.password != old[u.username] for u in again)
    dispatcher = next(u for u in again if u.role == Role.dispatcher)
    with new_session(engine) as s:
        token, _ = auth.login(
            s, username=dispatcher.username, password=dispatcher.password, now=NOW
        )
        assert token
        with pytest.raises(Unauthorized):
            auth.login(s, username=dispatcher.username, password=old[dispatcher.username], now=NOW)


def test_plan_is_deterministic_for_a_seed() -> None:
    def content(seed: int) -> list[tuple[object, ...]]:
        return [
            (s.path, s.title, s.address, s.grid.code, s.kind, s.grade, s.reported_at)
            for s in demo.plan(now=NOW, seed=seed)
        ]

    assert content(2025) == content(2025)
    assert content(2025) != content(2026)


def test_print_users_prints_a_bilingual_table() -> None:
    users = [
        demo.DemoUser("lh-dispatch", Role.dispatcher, "陈晓燕", "罗湖区网格管理中心", "pw-1"),
        demo.DemoUser("lh-wg01", Role.reporter, "李红梅", "东门街道湖贝社区第一网格", "pw-2"),
    ]
    out = io.StringIO()
    demo.print_users(users, file=out)
    lines = out.getvalue().splitlines()
    assert "用户名 Username" in lines[1] and "密码 Password" in lines[1]
    assert lines[3].startswith("lh-dispatch") and lines[3].endswith("pw-1")
    # columns line up although Chinese characters are two columns wide
    assert demo._width(lines[3][: lines[3].index("pw-1")]) == demo._width(
        lines[4][: lines[4].index("pw-2")]
    )


def test_demo_refuses_a_database_whose_district_is_not_the_demo(engine: Engine) -> None:
    code, name = demo_data.DISTRICT
    with new_session(engine) as s:
        org.create_region(s, data=RegionCreate(code=code, name=name, level=RegionLevel.district))
        s.commit()
    with pytest.raises(Conflict):
        demo.load_demo(engine, now=NOW)
    with new_session(engine) as s:
        assert s.exec(select(func.count()).select_from(User)).one() == 0
