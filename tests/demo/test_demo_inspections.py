from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.db import new_session
from closeloop.demo import service as demo
from models.case import Case
from models.enums import CaseKind
from models.inspection import Checklist, Inspection

NOW = datetime(2025, 9, 30, 2, 0, tzinfo=UTC)


def test_demo_has_checklists_and_inspections_whose_failed_items_are_hazards(
    engine: Engine,
) -> None:
    demo.load_demo(engine, now=NOW)
    with new_session(engine) as s:
        assert len(s.exec(select(Checklist)).all()) == 3
        rows = s.exec(select(Inspection)).all()
        assert len(rows) == 5 and sum(r.unannounced for r in rows) == 3
        assert all(r.at < NOW for r in rows)
        hazards = s.exec(select(Case).where(col(Case.inspection_id).is_not(None))).all()
        assert len(hazards) == sum(r.hazards_found for r in rows) == 4
        assert all(c.kind == CaseKind.hazard and c.enterprise_code for c in hazards)
        assert {c.enterprise_code for c in hazards} == {"E-DM-001", "E-DM-002", "E-GY-002"}
