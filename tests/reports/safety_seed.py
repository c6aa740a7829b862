"""Rows of the safety-production tables for the figures' tests, inserted with the models (the
services that fill these tables are tested with them; the figures only read the tables)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from closeloop.imports.bulk import BulkTable
from models.enterprise import Enterprise
from models.enums import EnterpriseKind, ItemResult, RiskLevel, RiskReportState
from models.inspection import Checklist, Inspection, InspectionItem
from models.risk import RiskPoint, RiskReport

CREATED = datetime(2024, 1, 1, tzinfo=UTC)
# (code, grid, street, community): the enterprises of tests/factories' district.
ENTERPRISES = [
    ("E1", "G1", "S1", "C1"),
    ("E2", "G2", "S1", "C1"),
    ("E3", "G3", "S2", "C2"),
]
PLACE = {code: (grid, street, community) for code, grid, street, community in ENTERPRISES}


def path(code: str) -> str:
    grid, street, community = PLACE[code]
    return f"/D1/{street}/{community}/{grid}/"


def enterprises(session: Session) -> None:
    for code, grid, street, community in ENTERPRISES:
        session.add(
            Enterprise(
                code=code,
                name=f"企业{code}",
                kind=EnterpriseKind.enterprise,
                grid_code=grid,
                street_code=street,
                community_code=community,
                region_path=path(code),
                created_at=CREATED,
                updated_at=CREATED,
            )
        )
    session.add(Checklist(code="CL", name="通用检查表", created_at=CREATED))
    session.flush()


def inspection(
    session: Session, *, enterprise: str, at: datetime, inspector_id: int, results: list[str]
) -> Inspection:
    grid, street, _ = PLACE[enterprise]
    row = Inspection(
        enterprise_code=enterprise,
        checklist_code="CL",
        at=at,
        inspector_id=inspector_id,
        grid_code=grid,
        street_code=street,
        region_path=path(enterprise),
        hazards_found=results.count("fail"),
        created_at=at,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for i, result in enumerate(results):
        session.add(
            InspectionItem(inspection_id=row.id, item_code=f"I{i}", result=ItemResult(result))
        )
    session.flush()
    return row


def risk_points(
    session: Session,
    counts: dict[RiskLevel, int],
    *,
    enterprise: str = "E1",
    prefix: str = "RP",
    created_at: datetime = CREATED,
    active: bool = True,
    updated_at: datetime | None = None,
    unit_code: str | None = "ZJ",
) -> None:
    _, street, _ = PLACE[enterprise]
    rows: list[dict[str, Any]] = []
    for level, n in counts.items():
        for i in range(n):
            rows.append(
                {
                    "code": f"{prefix}-{level.value}-{i}",
                    "enterprise_code": enterprise,
                    "name": "风险点",
                    "level": level.value,
                    "measures": "",
                    "unit_code": unit_code,
                    "street_code": street,
                    "region_path": path(enterprise),
                    "active": active,
                    "created_at": created_at,
                    "updated_at": updated_at or created_at,
                }
            )
    _bulk(session, RiskPoint, rows)


def risk_reports(
    session: Session,
    n: int,
    *,
    first: datetime,
    spread: timedelta,
    state: RiskReportState,
    reviewed_after: timedelta | None = None,
    enterprise: str = "E1",
    prefix: str = "RR",
    point: str | None = None,
) -> None:
    """`n` reports filed from `first` on, `spread` apart; reviewed `reviewed_after` after filing
    (None: not reviewed, or imported as reviewed without a time)."""
    _, street, _ = PLACE[enterprise]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        at = first + spread * i
        rows.append(
            {
                "number": f"{prefix}{i:06d}",
                "risk_point_code": point,
                "enterprise_code": enterprise,
                "name": "",
                "level": RiskLevel.low.value,
                "content": "",
                "measures": "",
                "street_code": street,
                "region_path": path(enterprise),
                "reported_by": None,
                "reported_at": at,
                "review_due_at": at + timedelta(days=5),
                "state": state.value,
                "reviewed_by": None,
                "reviewed_at": at + reviewed_after if reviewed_after is not None else None,
                "reason": "",
            }
        )
    _bulk(session, RiskReport, rows)


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """The rows written as an import writes them (COPY on PostgreSQL: 84,000 reports through
    SQLAlchemy's executemany took 7-14 s there, a second this way)."""
    session.flush()
    if rows:
        BulkTable(session, model.__table__, list(rows[0])).insert(rows)
