"""Listing and delisting notices of major hazards (挂牌督办公告 / 摘牌公告)."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from api import downloads
from api.deps import CurrentUser, NowDep, SessionDep
from closeloop.safety import notice_doc, notices
from models.dossier import NoticePublic
from models.enums import NoticeType

router = APIRouter(tags=["major hazards"])
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/notices", response_model=list[NoticePublic])
def list_notices(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    case_id: int | None = None,
    type: NoticeType | None = None,
    published: bool | None = None,
) -> object:
    """The notices of the cases you may see: unpublished first (soonest due first)."""
    rows = notices.list_notices(
        session, actor=user, case_id=case_id, notice_type=type, published=published
    )
    return [notices.notice_public(n, c, now=now) for n, c in rows]


@router.post("/notices/{notice_id}/publish", response_model=NoticePublic)
def publish_notice(
    session: SessionDep, user: CurrentUser, now: NowDep, notice_id: PathId
) -> object:
    """Publish (supervisor): numbered without gaps per type and year; never changed after."""
    notice = notices.publish_notice(session, actor=user, notice_id=notice_id, now=now)
    _, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    return notices.notice_public(notice, case, now=now)


# The document routes come before /notices/{notice_id}: "5.pdf" must not reach the int parser.
@router.get("/notices/{notice_id}.html", response_class=HTMLResponse)
def notice_html(session: SessionDep, user: CurrentUser, notice_id: PathId) -> HTMLResponse:
    notice, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    return HTMLResponse(notice_doc.render_html(session, notice, case))


@router.get(
    "/notices/{notice_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def notice_pdf(session: SessionDep, user: CurrentUser, notice_id: PathId) -> Response:
    notice, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    name = notice.number or f"{case.number}-{notice.type}-草稿"
    return downloads.send(
        notice_doc.render_pdf(session, notice, case),
        media_type="application/pdf",
        filename=f"{name}.pdf",
        fallback=f"notice-{notice_id}.pdf",
        inline=True,
    )


@router.get("/notices/{notice_id}", response_model=NoticePublic)
def get_notice(session: SessionDep, user: CurrentUser, now: NowDep, notice_id: PathId) -> object:
    notice, case = notices.get_notice(session, actor=user, notice_id=notice_id)
    return notices.notice_public(notice, case, now=now)
