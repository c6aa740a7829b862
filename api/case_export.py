"""The case list as an XLSX download (the API's `GET /api/v1/cases.xlsx` and the page's
`/cases.xlsx`): the service writes the workbook into a spooled temporary file (in memory up to
SPOOL bytes, on disk beyond), which is then streamed out in chunks, so a download of 100,000
cases never holds the workbook in memory. The session is done before the body is sent."""

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from fastapi.responses import StreamingResponse
from sqlmodel import Session

from api.downloads import disposition
from closeloop.auth.policy import Principal
from closeloop.cases import service as cases
from closeloop.cases.service import CaseFilter
from models.types import SHANGHAI

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL = 4 * 1024 * 1024
CHUNK = 64 * 1024


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := spool.read(CHUNK):
            yield block
    finally:
        spool.close()


def xlsx_response(
    session: Session, *, actor: Principal, filters: CaseFilter, now: datetime
) -> StreamingResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed by _chunks)
    try:
        count = cases.write_xlsx(session, actor=actor, filters=filters, now=now, out=spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    stamp = now.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    headers = {
        "Content-Disposition": disposition(
            f"案件列表-{stamp}.xlsx", fallback=f"cases-{stamp}.xlsx", inline=False
        ),
        "Content-Length": str(size),
        "X-Total-Count": str(count),
    }
    return StreamingResponse(_chunks(spool), media_type=XLSX, headers=headers)
