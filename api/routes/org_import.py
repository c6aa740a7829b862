"""`POST /api/v1/org/import`: a district's organisation from one workbook (admin), all or
nothing; `GET /api/v1/org/template.xlsx`: the template, pre-filled with an example street.

A workbook with refused rows answers 200 like `POST /api/v1/cases/import`: the object lists every
refused row, and nothing was written (`created` and `updated` are all zero). A file that cannot be
read — not XLSX/CSV/ZIP, no known sheet, a required column missing — is a 422 problem saying
what is expected."""

from typing import Annotated

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import AdminUser, NowDep, SessionDep
from api.uploads import read_import
from closeloop.org.workbook.service import import_org
from closeloop.org.workbook.template import template_workbook

router = APIRouter(tags=["organisation"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OrgRejection(BaseModel):
    sheet: str
    row: int
    error: str


class OneTimePassword(BaseModel):
    username: str
    password: str


class OrgImportSummary(BaseModel):
    created: dict[str, int]
    updated: dict[str, int]
    rejected: list[OrgRejection]
    # One-time passwords generated for new users without a password: shown this once.
    passwords: list[OneTimePassword] | None = None


@router.post("/org/import", response_model=OrgImportSummary, response_model_exclude_none=True)
def import_workbook(
    session: SessionDep,
    user: AdminUser,
    now: NowDep,
    file: UploadFile,
    sheet: Annotated[str | None, Form()] = None,
) -> object:
    """An XLSX with sheets regions, units, categories, users; a CSV named after its sheet (or
    with the form field `sheet`); or a ZIP of such CSVs. Created or updated by code."""
    data = read_import(file.file)
    return import_org(
        session, data=data, filename=file.filename or "", actor=user, now=now, sheet=sheet
    )


@router.get("/org/template.xlsx", response_class=Response)
def template(_: AdminUser) -> Response:
    return Response(
        template_workbook(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="closeloop-org-template.xlsx"'},
    )
