"""In-app messages (站内消息): the notices the outbox wrote for this user."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.web.core import Web, page_number, read_form, respond
from notifications import messages

router = APIRouter(include_in_schema=False)
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/messages")
def messages_page(request: Request, page: str = "1", unread: str = "") -> Response:
    def view(w: Web) -> Response:
        assert w.me.id is not None
        number = page_number(page)
        listing = messages.list_inapp(
            w.session, user_id=w.me.id, unread_only=unread == "1", page=number, page_size=50
        )
        pager = {"total": listing.total, "page": number, "page_size": 50}
        return w.render("messages.html", listing=listing, pager=pager,
                        only_unread=unread == "1", pager_q="&unread=1" if unread == "1" else "")

    return respond(request, view)


@router.post("/messages/{message_id}/read")
async def read_one(request: Request, message_id: PathId) -> Response:
    form = await read_form(request)

    def act(w: Web) -> Response:
        assert w.me.id is not None
        row = messages.mark_read(w.session, user_id=w.me.id, message_id=message_id, now=w.now)
        return w.redirect(f"/cases/{row.case_id}" if row.case_id else "/messages")

    return await run_in_threadpool(respond, request, act, form=form)


@router.post("/messages/read-all")
async def read_all(request: Request) -> Response:
    form = await read_form(request)

    def act(w: Web) -> Response:
        assert w.me.id is not None
        messages.mark_all_read(w.session, user_id=w.me.id, now=w.now)
        return w.redirect("/messages")

    return await run_in_threadpool(respond, request, act, form=form)
