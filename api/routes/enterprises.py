"""The enterprise and place register (一企一档): `POST/GET /api/v1/enterprises`,
`GET/PATCH /api/v1/enterprises/{code}`, `POST /api/v1/enterprises/import` (CSV or XLSX)."""

from typing import Annotated

from fastapi import APIRouter, Query, UploadFile, status

from api.deps import CurrentUser, NowDep, SessionDep
from api.routes.imports import ImportSummary
from api.uploads import check_ledger_size
from closeloop.safety import enterprise_import, enterprises
from closeloop.safety.enterprises import EnterpriseFilter
from models.enterprise import (
    EnterpriseCreate,
    EnterprisePage,
    EnterprisePublic,
    EnterpriseUpdate,
)
from models.enums import EnterpriseKind, RiskLevel

router = APIRouter(tags=["safety production"])
Code = Annotated[str | None, Query(max_length=40)]


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, response_model=EnterprisePublic)
def create_enterprise(
    session: SessionDep, user: CurrentUser, now: NowDep, data: EnterpriseCreate
) -> object:
    return enterprises.create_enterprise(session, actor=user, data=data, now=now)


@router.get("/enterprises", response_model=EnterprisePage)
def list_enterprises(
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[
        str | None, Query(max_length=100, description="name, code, credit code, address")
    ] = None,
    kind: EnterpriseKind | None = None,
    industry: Annotated[str | None, Query(max_length=60)] = None,
    region_code: Code = None,
    street_code: Code = None,
    grid_code: Code = None,
    risk_level: RiskLevel | None = None,
    active: bool | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> object:
    filters = EnterpriseFilter(
        q=q,
        kind=kind,
        industry=industry,
        region_code=region_code,
        street_code=street_code,
        grid_code=grid_code,
        risk_level=risk_level,
        active=active,
    )
    rows, total = enterprises.find_page(
        session, actor=user, filters=filters, page=page, page_size=page_size
    )
    return {"items": rows, "total": total, "page": page, "page_size": page_size}


@router.post("/enterprises/import", response_model=ImportSummary)
def import_enterprises(
    session: SessionDep, user: CurrentUser, now: NowDep, file: UploadFile
) -> object:
    """Good rows go in, bad rows come back with their row numbers and reasons; a file that cannot
    be read, or lacks a required column (code, name, grid_code), is refused whole (422)."""
    check_ledger_size(file)
    return enterprise_import.import_file(
        session, actor=user, fileobj=file.file, filename=file.filename or "", now=now
    )


@router.get("/enterprises/{code}", response_model=EnterprisePublic)
def get_enterprise(session: SessionDep, user: CurrentUser, code: str) -> object:
    return enterprises.get_enterprise(session, actor=user, code=code)


@router.patch("/enterprises/{code}", response_model=EnterprisePublic)
def update_enterprise(
    session: SessionDep, user: CurrentUser, now: NowDep, code: str, data: EnterpriseUpdate
) -> object:
    return enterprises.update_enterprise(session, actor=user, code=code, data=data, now=now)
