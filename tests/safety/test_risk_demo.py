"""The demo district's risk register: points at all four levels, reviewed reports (one rejected
with its reason), a couple pending and one past its review deadline."""

from sqlalchemy import Engine
from sqlmodel import select

from closeloop.db import new_session
from closeloop.demo import service as demo
from closeloop.safety import risk_reports
from models.risk import RiskPoint, RiskReport
from tests.demo.test_demo import NOW


def test_demo_has_a_risk_register_and_its_reviews(engine: Engine) -> None:
    demo.load_demo(engine, now=NOW)
    with new_session(engine) as s:
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
