from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from fastapi.responses import HTMLResponse, Response

from api import downloads
from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.letters import service as letters
from models.enums import LetterType
from models.letter import LetterIssue, LetterPublic, LetterWithdraw

router = APIRouter(tags=["letters"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/letters", response_model=list[LetterPublic])
def list_letters(
    session: SessionDep,
    user: CurrentUser,
    type: LetterType | None = None,
    unit_code: str | None = None,
) -> object:
    return letters.list_letters(session, actor=user, letter_type=type, unit_code=unit_code)


@router.post("/letters", status_code=status.HTTP_201_CREATED, response_model=LetterPublic)
def issue_letter(session: SessionDep, user: CurrentUser, now: NowDep, data: LetterIssue) -> object:
    letter = letters.issue_letter(session, now=now, actor=user, **_letter_args(data))
    return letters.letter_public(session, letter)


@router.post(
    "/letters/preview",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
)
def preview_letter(
    session: SessionDep, user: CurrentUser, now: NowDep, data: LetterIssue
) -> HTMLResponse:
    """The letter exactly as `POST /letters` would issue it now, its number pending and marked
    预览; the same checks; nothing is written and no number is drawn."""
    html = letters.preview_letter(session, now=now, actor=user, **_letter_args(data))
    return HTMLResponse(html)


@router.post("/letters/{letter_id}/withdraw", response_model=LetterPublic)
def withdraw_letter(
    session: SessionDep, user: CurrentUser, now: NowDep, letter_id: PathId, data: LetterWithdraw
) -> object:
    """作废 (supervisor): the number is kept, the letter marked, its letter case cancelled."""
    letter = letters.withdraw_letter(
        session, actor=user, letter_id=letter_id, reason=data.reason, now=now
    )
    return letters.letter_public(session, letter)


# The document routes come before /letters/{letter_id}: "5.pdf" must not reach the int parser.
@router.get("/letters/{letter_id}.html", response_class=HTMLResponse)
def letter_html(session: SessionDep, user: CurrentUser, letter_id: PathId) -> HTMLResponse:
    return downloads.letter_html(session, actor=user, letter_id=letter_id)


@router.get(
    "/letters/{letter_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def letter_pdf(session: SessionDep, user: CurrentUser, letter_id: PathId) -> Response:
    return downloads.letter_pdf(session, actor=user, letter_id=letter_id)


@router.get("/letters/{letter_id}", response_model=LetterPublic)
def get_letter(session: SessionDep, user: CurrentUser, letter_id: PathId) -> object:
    letter = letters.get_letter(session, actor=user, letter_id=letter_id)
    return letters.letter_public(session, letter)


def _letter_args(data: LetterIssue) -> dict[str, Any]:
    """The letter's fields as the letters service takes them (issuing and preview alike)."""
    return {
        "letter_type": data.type,
        "unit_code": data.unit_code,
        "case_ids": list(data.case_ids),
        "reason": data.reason,
        "reply_due_at": data.reply_due_at,
    }
