"""The demo district's plan and its refusals; the loaded district itself is read in
test_demo_loaded.py, from one load per database."""

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from closeloop.db import new_session
from closeloop.demo import data as demo_data
from closeloop.demo import service as demo
from closeloop.errors import Conflict
from closeloop.org import service as org
from models.enums import RegionLevel, Role
from models.org import RegionCreate
from models.user import User

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, a Tuesday


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
