"""A major hazard's dossier in headless Chromium: the unit's handler fills the 五到位 plan on the
case page, then the supervisor publishes the listing notice there and sees its number."""

from datetime import timedelta

from sqlmodel import select

from closeloop.auth import service as auth
from closeloop.cases import service as cases
from closeloop.db import new_session
from models.case import ActionInput, CaseCreate
from models.enums import CaseKind, Grade
from models.user import User
from tests.e2e.helpers import LiveServer, by_id, click_and_wait, login, wait_until

DISPATCHER, HANDLER, SUPERVISOR = "lh-dispatch", "lh-yj", "lh-supervise"


def _signed_major_hazard(live: LiveServer) -> int:
    with new_session(live.engine) as s:

        def who(name: str):  # type: ignore[no-untyped-def]
            return auth.principal_of(s, s.exec(select(User).where(User.username == name)).one())

        now = live.clock.now()
        case = cases.file_case(
            s,
            actor=who(DISPATCHER),
            now=now,
            data=CaseCreate(
                kind=CaseKind.hazard,
                grade=Grade.major,
                title="危化品仓库未设置防爆电气",
                category_code="0303",
                enterprise_code="E-GY-001",
            ),
        )
        assert case.id is not None
        for actor, action, data in (
            (DISPATCHER, "dispatch", ActionInput(unit_code="YJ")),
            (HANDLER, "sign", ActionInput()),
        ):
            cases.perform(s, actor=who(actor), case_id=case.id, action=action, data=data, now=now)
        s.commit()
        return case.id


def test_plan_then_publish_the_listing_notice(new_page, live: LiveServer) -> None:
    case_id = _signed_major_hazard(live)
    unit = new_page("desk")
    login(unit, live, HANDLER)
    unit.goto(f"/cases/{case_id}")
    form = unit.locator(by_id("plan-form"))
    form.locator('[name="measures"]').fill("更换防爆灯具和开关")
    form.locator('[name="funds"]').fill("3 万元")
    form.locator('[name="responsible"]').fill("吴海涛")
    deadline = (live.clock.now() + timedelta(days=20)).date().isoformat()
    form.locator('[name="deadline"]').fill(deadline)
    form.locator('[name="emergency_plan"]').fill("停用仓库，专人值守")
    response = click_and_wait(unit, by_id("action-plan"))
    assert response.status == 200, unit.inner_text("main")
    assert "吴海涛" in unit.locator(by_id("dossier-plan")).inner_text()
    assert "草稿" in unit.locator(by_id("dossier-notices")).inner_text()
    assert unit.locator(by_id("action-publish")).count() == 0  # not the unit's to publish

    boss = new_page("desk")
    login(boss, live, SUPERVISOR)
    boss.goto(f"/cases/{case_id}")
    click_and_wait(boss, by_id("action-publish"))
    wait_until(boss, "document.querySelector('[data-testid=\"notice-number\"]') !== null")
    number = boss.locator(by_id("notice-number")).inner_text()
    assert number.startswith("罗应急挂〔") and number.endswith("号")
    assert boss.locator(by_id("action-publish")).count() == 0
