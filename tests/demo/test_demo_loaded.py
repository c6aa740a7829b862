"""The demo district read from one load of the demo per database (a load takes ~20 s): realistic
in size and shape, every case walked through the real services, loaded once and its accounts
handed fresh passwords on every later load; its history of letters, listings and reports in the past; and its safety-production side —
checklists and inspections whose failed items are hazards; a risk register at all four levels
with reviewed, rejected, pending and late reports; grid polygons holding the demo's case points
and enterprises, and a grid worker's map showing their own grid."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import col, select

from closeloop.auth import service as auth
from closeloop.calendar.days import SHANGHAI
from closeloop.db import make_engine, new_session, transaction
from closeloop.demo import data as demo_data
from closeloop.demo import service as demo
from closeloop.errors import Unauthorized
from closeloop.escalation import service as escalation
from closeloop.geo.locate import locate
from closeloop.maps.layers import map_layers
from closeloop.safety import risk_reports
from models.case import Case
from models.enterprise import Enterprise
from models.enums import CaseKind, CaseState, RegionLevel, Role
from models.geo import GridGeometry
from models.history import CaseHistory
from models.inspection import Checklist, Inspection
from models.letter import Letter
from models.org import Category, Region, Unit
from models.report import Report
from models.risk import RiskPoint, RiskReport
from models.user import User
from tests.conftest import _wipe

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, a Tuesday
FIRST_LOAD: dict[str, list[demo.DemoUser]] = {}  # the accounts each database's load handed out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = str(request.getfixturevalue(f"{request.param.replace('postgresql', 'pg')}_url"))
    engine = make_engine(url)
    _wipe(engine)
    FIRST_LOAD[str(engine.url)] = demo.load_demo(engine, now=NOW)
    yield engine
    _wipe(engine)
    engine.dispose()


def test_demo_district_is_realistic_walked_through_the_services_and_loaded_once(
    loaded: Engine,
) -> None:
    # First in the module: it reads the district as the load left it.
    engine = loaded
    users = FIRST_LOAD[str(engine.url)]

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


def test_checklists_and_inspections_whose_failed_items_are_hazards(loaded: Engine) -> None:
    with new_session(loaded) as s:
        assert len(s.exec(select(Checklist)).all()) == 3
        rows = s.exec(select(Inspection)).all()
        assert len(rows) == 5 and sum(r.unannounced for r in rows) == 3
        assert all(r.at < NOW for r in rows)
        hazards = s.exec(select(Case).where(col(Case.inspection_id).is_not(None))).all()
        assert len(hazards) == sum(r.hazards_found for r in rows) == 4
        assert all(c.kind == CaseKind.hazard and c.enterprise_code for c in hazards)
        assert {c.enterprise_code for c in hazards} == {"E-DM-001", "E-DM-002", "E-GY-002"}


def test_a_risk_register_and_its_reviews(loaded: Engine) -> None:
    with new_session(loaded) as s:
        levels = {p.level for p in s.exec(select(RiskPoint))}
        assert levels == {"major", "significant", "general", "low"}
        reports = list(s.exec(select(RiskReport)))
        states = [r.state for r in reports]
        assert states.count("approved") >= 3 and states.count("pending") >= 2
        rejected = [r for r in reports if r.state == "rejected"]
        assert len(rejected) == 1 and rejected[0].reason
        assert len([r for r in reports if risk_reports.is_overdue(r, NOW)]) == 1
        assert all(r.reviewed_at is None or r.reviewed_at <= NOW for r in reports)
        # An approved new point is on the register, linked back.
        new = [r for r in reports if r.state == "approved" and r.name == "钢瓶仓储区"]
        assert new and s.get(RiskPoint, new[0].risk_point_code or "") is not None


def test_the_cases_and_enterprises_lie_in_their_grids(loaded: Engine) -> None:
    with new_session(loaded) as s:
        assert len(s.exec(select(GridGeometry)).all()) == 14
        cases = s.exec(select(Case).where(col(Case.lat).is_not(None))).all()
        assert len(cases) > 100
        wrong = [c.number for c in cases if locate(s, lat=c.lat, lon=c.lon) != c.grid_code]
        assert wrong == []
        places = s.exec(select(Enterprise).where(col(Enterprise.lat).is_not(None))).all()
        assert places
        assert [e.code for e in places if locate(s, lat=e.lat, lon=e.lon) != e.grid_code] == []
        worker = s.exec(select(User).where(User.username == "lh-wg01")).one()
        out = map_layers(s, actor=auth.principal_of(s, worker), now=NOW, layers=["grids"])
        assert [f["properties"]["code"] for f in out["layers"]["grids"]["features"]] == [
            worker.region_code
        ]


def test_the_demo_robot_shows_delivered_folded_and_refused(loaded: Engine) -> None:
    from closeloop.demo.robots import ROBOT_URL
    from models.org import Unit
    from models.outbox import OutboxMessage
    from notifications import folding

    with new_session(loaded) as s:
        assert s.get(Unit, "CG").webhook_kind == "wecom"
        rows = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == ROBOT_URL)
            .order_by(col(OutboxMessage.id))
        ).all()
        assert all(r.status != "pending" for r in rows)  # nothing waits to go to the internet
        by_state = Counter(r.status for r in rows)
        assert by_state == {"sent": 3, "failed": 1}  # one alone, one folded + its digest
        folded = [r for r in rows if r.folded_into_id]
        assert len(folded) == 1
        digest = s.get(OutboxMessage, folded[0].folded_into_id)
        assert digest.event == "digest" and digest.status == "sent"
        view = folding.delivery_rows(s, list(rows), lang="en")
        (failed,) = [v for v in view if v.msg.status == "failed"]
        assert failed.error.startswith("93000 invalid webhook key") and failed.kind == "wecom"
        assert "demo-cg" not in failed.recipient


def test_follow_ups_answered_one_reworked_and_some_waiting(loaded: Engine) -> None:
    from models.followup import FollowUp

    with new_session(loaded) as s:
        rows = list(s.exec(select(FollowUp)))
        answers = Counter(str(r.satisfaction) for r in rows)
        assert answers["satisfied"] >= 3 and answers["basically_satisfied"] >= 1
        assert answers["unsatisfied"] == 1
        assert {str(r.channel) for r in rows} == {"on_site", "desk"}
        assert all(r.closed_at <= r.at <= NOW for r in rows)
        unhappy = next(r for r in rows if r.satisfaction == "unsatisfied")
        reworked = s.get(Case, unhappy.case_id)
        assert reworked is not None and reworked.state == CaseState.rectifying
        assert reworked.rework_count >= 1 and reworked.due_at is not None and reworked.due_at > NOW
        waiting = s.exec(
            select(Case).where(
                Case.state == CaseState.closed,
                col(Case.follow_up_due_at).is_not(None),
                Case.kind == CaseKind.event,
            )
        ).all()
        assert any(c.follow_up_due_at and c.follow_up_due_at < NOW for c in waiting)


def test_a_return_refused_a_return_granted_and_a_redispatch(loaded: Engine) -> None:
    """Return review (issue 14): closeloop/demo/returns.py."""
    with new_session(loaded) as s:

        def case_with(action: str) -> Case:
            entry = s.exec(select(CaseHistory).where(CaseHistory.action == action)).first()
            assert entry is not None, action
            case = s.get(Case, entry.case_id)
            assert case is not None
            return case

        refused = case_with("reject_return")
        assert (refused.state, refused.unit_code, refused.returned_units) == (
            CaseState.rectifying,
            "CG",
            ["CG"],
        )
        granted = case_with("approve_return")
        assert (granted.state, granted.unit_code, granted.returned_units) == (
            CaseState.rectifying,
            "ZJ",
            ["CG"],
        )
        moved = case_with("redispatch")
        assert (moved.state, moved.unit_code) == (CaseState.rectifying, "CG")


def test_co_handled_cases_done_open_overdue_and_waived(loaded: Engine) -> None:
    from models.task import CaseTask

    with new_session(loaded) as s:
        rows = s.exec(
            select(CaseTask, Case).join(Case, col(Case.id) == col(CaseTask.case_id))
        ).all()
        by_state = {t.state: (t, c) for t, c in rows}
        assert sorted(t.state for t, _ in rows) == ["done", "open", "waived"]
        assert by_state["done"][1].state == CaseState.closed
        assert by_state["open"][0].due_at < NOW and by_state["open"][1].unit_code == "CG"
        assert by_state["waived"][0].reason


def test_emergency_information_reached_the_supervisor(loaded: Engine) -> None:
    with new_session(loaded) as s:
        alerted = s.exec(
            select(Case).where(col(Case.emergency).is_(True), col(Case.alerted_at).is_not(None))
        ).all()
        minutes = sorted(
            round((c.alerted_at - c.reported_at).total_seconds() / 60)
            for c in alerted
            if c.alerted_at is not None
        )
        flagged = s.exec(select(Case).where(Case.category_code == "0303", Case.urgent == False))  # noqa: E712
        assert minutes == [8, 41]
        assert any(c.emergency for c in flagged)


# Last: it runs escalation at NOW on the shared load (and asserts it issues nothing).
def test_demo_history_has_its_letters_listings_and_reports_in_the_past(loaded: Engine) -> None:
    """Escalation ran over the demo's own history, day by day: its letters, letter cases,
    listings and monthly reports carry their real past dates, and the first run after loading
    finds no letter left over from earlier days (no burst of letters dated today)."""
    with new_session(loaded) as s:
        letters = s.exec(select(Letter)).all()
        assert {str(x.type) for x in letters} == {"reminder", "supervision", "warning"}
        days = {x.issued_at.astimezone(SHANGHAI).date() for x in letters}
        assert (
            len(days) >= 20
            and max(days) <= NOW.date()
            and min(days) < (NOW - timedelta(days=30)).date()
        )
        # issued by the daily run at 09:00 on working days
        assert {x.issued_at.astimezone(SHANGHAI).strftime("%H:%M") for x in letters} == {"09:00"}
        letter_cases = s.exec(select(Case).where(col(Case.kind) == CaseKind.letter)).all()
        states = Counter(c.state for c in letter_cases)
        assert states[CaseState.closed] > len(letter_cases) / 2  # most were answered
        assert all(c.reported_at < NOW for c in letter_cases)
        listings = s.exec(select(CaseHistory).where(col(CaseHistory.action) == "list")).all()
        assert listings and all(h.at < NOW for h in listings)
        assert len({h.at.date() for h in listings}) >= 5
        made = s.exec(select(Report).order_by(col(Report.period))).all()
        assert [(r.cadence, r.period) for r in made] == [
            ("monthly", "2025-07"),
            ("monthly", "2025-08"),
        ]
        assert [r.generated_at for r in made] == [
            datetime(2025, 8, 1, 0, 0, tzinfo=UTC),
            datetime(2025, 9, 1, 0, 0, tzinfo=UTC),
        ]
        before = len(letters)
    # NOW is 10:00 on a working day: today's 09:00 run is done, so a run now issues no letter.
    with transaction(loaded) as s:
        summary = escalation.run(s, now=NOW)
    assert summary["letters"] == {"reminder": 0, "supervision": 0, "warning": 0}, summary
    with new_session(loaded) as s:
        assert len(s.exec(select(Letter)).all()) == before
