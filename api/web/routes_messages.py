"""In-app messages (站内消息): the notices the outbox wrote for this user."""

from typing import Annotated

from fastapi import Path
from fastapi.responses import Response

from api.deps import NowDep, SessionDep
from api.web.deps import CsrfForm, PageDep, PageUser, page_router
from api.web.pages import PageNo, page_number, redirect
from notifications import messages

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/messages")
def messages_page(
    page: PageDep, session: SessionDep, user: PageUser, page_no: PageNo = "1", unread: str = ""
) -> Response:
    assert user.id is not None
    number = page_number(page_no)
    listing = messages.list_inapp(
        session, user_id=user.id, unread_only=unread == "1", page=number, page_size=50
    )
    pager = {"total": listing.total, "page": number, "page_size": 50}
    return page.render(
        "messages.html",
        listing=listing,
        pager=pager,
        only_unread=unread == "1",
        pager_q="&unread=1" if unread == "1" else "",
    )


@router.post("/messages/{message_id}/read")
def read_one(
    session: SessionDep, user: PageUser, now: NowDep, _: CsrfForm, message_id: PathId
) -> Response:
    assert user.id is not None
    row = messages.mark_read(session, user_id=user.id, message_id=message_id, now=now)
    return redirect(f"/cases/{row.case_id}" if row.case_id else "/messages")


@router.post("/messages/read-all")
def read_all(session: SessionDep, user: PageUser, now: NowDep, _: CsrfForm) -> Response:
    assert user.id is not None
    messages.mark_all_read(session, user_id=user.id, now=now)
    return redirect("/messages")
