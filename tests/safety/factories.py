"""Enterprises, places and a checklist set over tests/factories.py's organisation."""

from sqlmodel import Session

from closeloop.safety import checklists
from models.enterprise import Enterprise
from models.enums import EnterpriseKind
from models.inspection import ChecklistCreate, ChecklistItemIn
from models.org import Region
from tests.factories import NOW


def enterprise(
    session: Session,
    code: str,
    *,
    grid: str = "G1",
    kind: EnterpriseKind = EnterpriseKind.enterprise,
    industry: str = "工贸",
    name: str | None = None,
) -> Enterprise:
    region = session.get(Region, grid)
    assert region is not None
    parts = [p for p in region.path.split("/") if p]
    row = Enterprise(
        code=code,
        name=name or f"测试企业{code}",
        kind=kind,
        address="东门路 1 号",
        grid_code=grid,
        street_code=parts[1],
        community_code=parts[2],
        region_path=region.path,
        industry=industry,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def checklist(session: Session, code: str = "CL1", industry: str = "工贸") -> str:
    checklists.create_checklist(
        session,
        data=ChecklistCreate(
            code=code,
            name="工贸企业检查表",
            industry=industry,
            category_code="0201",
            items=[
                ChecklistItemIn(code="A1", text="安全出口畅通", basis="GB 50016 第 5.5 条"),
                ChecklistItemIn(
                    code="A2", text="消防设施完好", basis="《消防法》第十六条", category_code="0101"
                ),
                ChecklistItemIn(code="A3", text="员工安全培训", basis="《安全生产法》第二十八条"),
            ],
        ),
        now=NOW,
    )
    return code
