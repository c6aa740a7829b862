"""The delivery page (/admin/outbox, admin only): every outbox message with its channel, the
robot's kind, its state (pending, sent, failed, folded into a digest), attempts, and a robot's
error code told in words; a failed message can be put back in the queue. Also the robot fields
of the unit and user forms (their kind choices and the write-only secret)."""

from typing import Annotated

from fastapi import Path
from fastapi.responses import Response

from api.deps import NowDep, SessionDep
from api.web.admin import PageAdmin
from api.web.deps import CsrfForm, PageDep, page_router
from api.web.pages import Page, PageNo, page_number, redirect
from closeloop.errors import DomainError
from models.enums import Channel, DeliveryStatus, WebhookKind
from notifications import folding, messages

router = page_router()
PathId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PAGE_SIZE = 50
# What the admin types in a secret field to remove the secret (empty keeps it: write-only).
CLEAR = "-"


# The kinds as the edit forms offer them (their option texts are shown as they are).
ROBOT_KINDS = [
    (WebhookKind.wecom.value, "企业微信 / WeCom"),
    (WebhookKind.dingtalk.value, "钉钉 / DingTalk"),
    (WebhookKind.feishu.value, "飞书 / Feishu"),
    (WebhookKind.generic.value, "通用 webhook / plain webhook"),
]


def robot_form(values: dict[str, str]) -> dict[str, str]:
    """A form's robot fields as a PATCH: an empty secret is left out (kept), "-" clears it."""
    secret = values.get("webhook_secret")
    if secret is None:
        return values
    out = dict(values)
    if secret.strip() == "":
        out.pop("webhook_secret")
    elif secret.strip() == CLEAR:
        out["webhook_secret"] = ""
    return out


def outbox_page(page: Page, session: SessionDep, *, error: str = "", status: int = 200) -> Response:
    query = page.request.query_params
    wanted = query.get("status", "")
    channel = query.get("channel", "")
    number = page_number(query.get("page", "1"))
    try:
        listing = messages.list_outbox(
            session,
            status=wanted or None,
            channel=channel or None,
            page=number,
            page_size=PAGE_SIZE,
        )
    except DomainError as exc:
        return page.error(exc.status, page.message(exc))
    q = "".join(f"&{k}={v}" for k, v in (("status", wanted), ("channel", channel)) if v)
    return page.render(
        "admin/outbox.html",
        status=status,
        error=error,
        rows=folding.delivery_rows(session, listing.items, lang=page.lang),
        pager={"total": listing.total, "page": number, "page_size": PAGE_SIZE},
        pager_q=q,
        wanted={"status": wanted, "channel": channel},
        status_options=[(s.value, page.t(f"outbox.{s}")) for s in DeliveryStatus],
        channel_options=[(c.value, c.value) for c in Channel],
    )


@router.get("/admin/outbox")
def outbox_list(
    page: PageDep, session: SessionDep, _: PageAdmin, page_no: PageNo = "1"
) -> Response:
    del page_no  # read with the filters from the query
    return outbox_page(page, session)


@router.post("/admin/outbox/{message_id}/retry")
def outbox_retry(
    page: PageDep,
    session: SessionDep,
    _: PageAdmin,
    now: NowDep,
    form: CsrfForm,
    message_id: PathId,
) -> Response:
    try:
        messages.retry(session, message_id=message_id, now=now)
    except DomainError as exc:
        session.rollback()
        return outbox_page(page, session, error=page.message(exc), status=exc.status)
    return redirect("/admin/outbox?status=pending")
