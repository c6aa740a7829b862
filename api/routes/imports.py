"""`POST /api/v1/cases/import`: a CSV or XLSX case ledger, streamed from the upload (admin)."""

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel

from api.deps import AdminUser, NowDep, SessionDep
from api.uploads import check_ledger_size
from closeloop.imports import service as imports

router = APIRouter(tags=["cases"])


class ImportRejection(BaseModel):
    row: int
    error: str


class ImportSummary(BaseModel):
    imported: int
    # The first 1,000 rejections by row number; rejected_count counts them all.
    rejected: list[ImportRejection]
    rejected_count: int


@router.post("/cases/import", response_model=ImportSummary)
def import_ledger(session: SessionDep, user: AdminUser, now: NowDep, file: UploadFile) -> object:
    """Good rows go in, bad rows come back with their row numbers and reasons; a file that cannot
    be read, or lacks a required column, is refused whole (422) and nothing is written."""
    check_ledger_size(file)
    return imports.import_file(
        session, actor=user, fileobj=file.file, filename=file.filename or "", now=now
    )
