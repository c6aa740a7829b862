"""`POST /api/v1/cases/import`: a CSV or XLSX case ledger, streamed from the upload (admin)."""

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel

from api.deps import AdminUser, NowDep, SessionDep
from closeloop.config import get_settings
from closeloop.errors import PayloadTooLarge
from closeloop.imports import service as imports
from closeloop.text import Msg

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
    limit = get_settings().max_import_bytes
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            Msg(
                f"台账文件超过 {limit // (1024 * 1024)} MB 上限",
                "the ledger is larger than the limit of "
                f"{limit} bytes (CLOSELOOP_MAX_IMPORT_BYTES); split it into several files",
            )
        )
    return imports.import_file(
        session, actor=user, fileobj=file.file, filename=file.filename or "", now=now
    )
