"""Checklist sets (the admin's) and inspections: POST/GET /checklists, PATCH /checklists/{code},
POST/GET /inspections, GET /inspections/figures, GET /inspections/{id}."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import AdminUser, CurrentUser, NowDep, SessionDep
from closeloop.clock import local_today
from closeloop.safety import checklists, inspection_figures, inspection_reads, inspections
from models.inspection import (
    ChecklistCreate,
    ChecklistPublic,
    ChecklistUpdate,
    InspectionCreate,
    InspectionFigures,
    InspectionPublic,
)

router = APIRouter(tags=["inspections"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
From = Annotated[date | None, Query(alias="from", description="YYYY-MM-DD (Shanghai)")]
To = Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, inclusive")]


@router.post("/checklists", status_code=status.HTTP_201_CREATED, response_model=ChecklistPublic)
def create_checklist(
    session: SessionDep, _: AdminUser, now: NowDep, data: ChecklistCreate
) -> object:
    row = checklists.create_checklist(session, data=data, now=now)
    return checklists.public(session, row)


@router.get("/checklists", response_model=list[ChecklistPublic])
def list_checklists(
    session: SessionDep,
    _: CurrentUser,
    active: bool | None = None,
    industry: Annotated[str | None, Query(max_length=60)] = None,
) -> object:
    return checklists.list_checklists(session, active=active, industry=industry)


@router.get("/checklists/{code}", response_model=ChecklistPublic)
def get_checklist(session: SessionDep, _: CurrentUser, code: str) -> object:
    return checklists.public(session, checklists.get_or_404(session, code))


@router.patch("/checklists/{code}", response_model=ChecklistPublic)
def update_checklist(session: SessionDep, _: AdminUser, code: str, data: ChecklistUpdate) -> object:
    row = checklists.update_checklist(session, code=code, data=data)
    return checklists.public(session, row)


@router.post("/inspections", status_code=status.HTTP_201_CREATED, response_model=InspectionPublic)
def record_inspection(
    session: SessionDep, user: CurrentUser, now: NowDep, data: InspectionCreate
) -> object:
    row = inspections.record_inspection(session, actor=user, data=data, now=now)
    return inspection_reads.public_of(session, row)


@router.get("/inspections", response_model=list[InspectionPublic])
def list_inspections(
    session: SessionDep,
    user: CurrentUser,
    date_from: From = None,
    date_to: To = None,
    enterprise_code: Annotated[str | None, Query(max_length=40)] = None,
    street_code: Annotated[str | None, Query(max_length=40)] = None,
) -> object:
    return inspection_reads.list_inspections(
        session,
        actor=user,
        enterprise_code=enterprise_code,
        date_from=date_from,
        date_to=date_to,
        street_code=street_code,
    )


@router.get(
    "/inspections/figures",
    response_model=InspectionFigures,
    summary="检查统计 / inspections, enterprises inspected, unannounced, hazards found",
)
def inspection_figures_(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    date_from: From = None,
    date_to: To = None,
    group_by: inspection_figures.GroupBy = "street",
    region_code: Annotated[str | None, Query(max_length=40)] = None,
) -> object:
    today = local_today(now)
    return inspection_figures.figures(
        session,
        actor=user,
        date_from=date_from or today.replace(day=1),
        date_to=date_to or today,
        group_by=group_by,
        region_code=region_code,
    )


@router.get("/inspections/{inspection_id}", response_model=InspectionPublic)
def get_inspection(session: SessionDep, user: CurrentUser, inspection_id: PathId) -> object:
    return inspection_reads.get_inspection(session, actor=user, inspection_id=inspection_id)
