"""Every file the API and the pages hand out (attachments, letters, report files) goes through
here: the services open it (and check who may read it); this module names it for the browser."""

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session

from closeloop.auth.policy import Principal
from closeloop.cases import attachments
from closeloop.letters import render as letter_render
from closeloop.letters import service as letters
from closeloop.reports import service as reports

EXTENSION = {
    "html": "html",
    "pdf": "pdf",
    "xlsx": "xlsx",
    "bulletin_html": "html",
    "bulletin_pdf": "pdf",
}
SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def disposition(filename: str, *, fallback: str, inline: bool) -> str:
    """Content-Disposition with the real (often Chinese) name as RFC 5987 `filename*` and an
    ASCII `filename` for clients that read only that."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def send(
    body: Path | bytes, *, media_type: str, filename: str, fallback: str, inline: bool
) -> Response:
    headers = {"Content-Disposition": disposition(filename, fallback=fallback, inline=inline)}
    if isinstance(body, Path):
        return FileResponse(body, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def attachment(session: Session, *, actor: Principal, attachment_id: int, inline: bool) -> Response:
    """A case's photo or document (the pages show it inline, the API offers it to save)."""
    row, path = attachments.open_attachment(session, actor=actor, attachment_id=attachment_id)
    suffix = Path(row.filename).suffix
    fallback = f"attachment-{attachment_id}{suffix if SAFE_SUFFIX.fullmatch(suffix) else ''}"
    return send(
        path, media_type=row.content_type, filename=row.filename, fallback=fallback, inline=inline
    )


def letter_pdf(session: Session, *, actor: Principal, letter_id: int) -> Response:
    letter = letters.get_letter(session, actor=actor, letter_id=letter_id)
    return send(
        letter_render.render_pdf(letter),
        media_type="application/pdf",
        filename=f"{letter.number}.pdf",
        fallback=f"letter-{letter_id}.pdf",
        inline=True,
    )


def letter_html(session: Session, *, actor: Principal, letter_id: int) -> HTMLResponse:
    letter = letters.get_letter(session, actor=actor, letter_id=letter_id)
    return HTMLResponse(letter_render.render_html(letter))


def report_file(
    session: Session,
    *,
    actor: Principal,
    report_id: int,
    kind: str,
    now: datetime | None = None,
) -> Response:
    """A report's html, pdf or xlsx, or its 通报 (bulletin_html, bulletin_pdf); the workbook is
    saved, the others open in the browser. A report not ready has none (409)."""
    report, path, media_type = reports.open_file(
        session, actor=actor, report_id=report_id, kind=kind, now=now
    )
    bulletin = kind.startswith("bulletin")
    ext = EXTENSION[kind]
    prefix = (report.bulletin_number or "") if bulletin else report.title
    return send(
        path,
        media_type=media_type,
        filename=f"{prefix or report.title}.{ext}",
        fallback=f"report-{report_id}{'-bulletin' if bulletin else ''}.{ext}",
        inline=kind != "xlsx",
    )
