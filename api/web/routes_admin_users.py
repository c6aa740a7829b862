"""Users' admin pages (/admin/users): the list (filtered by role, unit, region, active, locked),
creating a user, editing one, deactivating (their sessions end at once), 重置密码 (the one-time
password shown on the answer to the POST, once: never in a URL, a log or a later page) and 解锁."""

from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlmodel import Session

from api.deps import NowDep, SessionDep
from api.web.admin import PageAdmin, active_flag, parse, parse_patch
from api.web.deps import CsrfForm, PageDep, field, fields, page_router
from api.web.pages import Page, redirect
from api.web.routes_admin_edit import Field
from api.web.routes_admin_org import depth
from api.web.routes_admin_outbox import ROBOT_KINDS, robot_form
from api.web.views import Names
from closeloop.errors import DomainError
from closeloop.org import service as org
from models.enums import Role
from models.user import User, UserCreate, UserUpdate

router = page_router()
CREATE_FIELDS = (
    "username",
    "display_name",
    "role",
    "unit_code",
    "region_code",
    "email",
    "password",
    "webhook_url",
    "webhook_kind",
    "webhook_secret",
)
EDIT_FIELDS = ("display_name", "role", "unit_code", "region_code", "email")
ROBOT_FIELDS = ("webhook_url", "webhook_kind", "webhook_secret")  # the user's own group robot
LABELS = {
    "username": "users.username",
    "display_name": "users.display_name",
    "role": "users.role",
    "unit_code": "adm.unit",
    "region_code": "users.region",
    "email": "adm.email",
    "password": "users.password",
    "webhook_url": "adm.webhook_url",
    "webhook_kind": "adm.webhook_kind",
    "webhook_secret": "adm.webhook_secret",
}
FILTERS = ("role", "unit", "region", "active", "locked")


def _options(page: Page, session: Session) -> dict[str, list[tuple[str, str]]]:
    return {
        "role_options": [(r.value, page.t(f"role.{r}")) for r in Role],
        "unit_options": [(u.code, u.name) for u in org.list_units(session)],
        "region_options": [
            (r.code, f"{'　' * depth(r.path)}{r.name}（{r.code}）")
            for r in org.list_regions(session)
        ],
    }


def _shown(user: User, wanted: dict[str, str], locked: bool) -> bool:
    """Whether a user passes the list's filters (what the admin chose to look at, no rule)."""
    return (
        (not wanted["role"] or user.role == wanted["role"])
        and (not wanted["unit"] or user.unit_code == wanted["unit"])
        and (not wanted["region"] or user.region_code == wanted["region"])
        and (wanted["active"] not in ("1", "0") or user.active == (wanted["active"] == "1"))
        and (wanted["locked"] != "1" or locked)
    )


def users_page(
    page: Page,
    session: Session,
    now: datetime,
    *,
    values: dict[str, str] | None = None,
    **kw: Any,
) -> Response:
    wanted = {k: page.request.query_params.get(k, "") for k in FILTERS}
    users = org.list_users(session)
    locked = org.locked_users(session, now=now)
    shown = [u for u in users if _shown(u, wanted, u.username in locked)]
    ok = page.request.query_params.get("ok", "")
    flash = page.t(f"adm.ok.{ok}") if ok in ("created", "saved", "off", "on", "unlocked") else ""
    context: dict[str, Any] = {"flash": flash, **_options(page, session), **kw}
    return page.render(
        "admin/users.html",
        users=shown,
        total=len(users),
        locked=locked,
        names=Names.load(session),
        wanted=wanted,
        values=values or {},
        **context,
    )


@router.get("/admin/users")
def user_list(page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep) -> Response:
    return users_page(page, session, now)


@router.post("/admin/users")
def create_user(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm
) -> Response:
    values = fields(form, CREATE_FIELDS)
    raw = form.get("password")
    values["password"] = raw if isinstance(raw, str) else ""  # a password is kept as typed
    try:
        org.create_user(session, data=parse(UserCreate, values, LABELS), now=now)
    except DomainError as exc:
        session.rollback()
        values.pop("password")  # never drawn back into the page
        return users_page(
            page, session, now, values=values, error=page.message(exc), status=exc.status
        )
    return redirect("/admin/users?ok=created")


def _spec(page: Page, session: Session) -> list[Field]:
    opts = _options(page, session)
    return [
        Field("display_name", "users.display_name", required=True),
        Field("role", "users.role", required=True, options=opts["role_options"]),
        Field("unit_code", "adm.unit", options=opts["unit_options"]),
        Field("region_code", "users.region", options=opts["region_options"]),
        Field("email", "adm.email", maxlength=200),
        Field("webhook_url", "adm.webhook_url", maxlength=500),
        Field("webhook_kind", "adm.webhook_kind", options=ROBOT_KINDS, empty="robot.infer"),
        Field("webhook_secret", "adm.webhook_secret", type="password", maxlength=200),
    ]


def edit_page(
    page: Page,
    session: Session,
    now: datetime,
    username: str,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    user = org.get_user(session, username=username)
    current = {name: str(getattr(user, name) or "") for name in EDIT_FIELDS + ROBOT_FIELDS}
    current["webhook_secret"] = ""  # write-only
    locked = org.is_locked(session, username=username, now=now)
    facts = [page.t(f"role.{user.role}")] + ([page.t("users.locked")] if locked else [])
    ok = page.request.query_params.get("ok", "")
    return page.render(
        "admin/edit.html",
        status=status,
        error=error,
        flash=page.t("adm.ok.unlocked") if ok == "unlocked" else "",
        title="users.edit",
        name=user.display_name,
        code=user.username,
        active=user.active,
        facts=facts,
        spec=_spec(page, session),
        values=values if values is not None else current,
        action=f"/admin/users/{username}",
        back="/admin/users",
        extras=["admin/_user_tools.html"],
        locked=locked,
    )


@router.get("/admin/users/{username}")
def edit_form(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, username: str
) -> Response:
    return edit_page(page, session, now, username)


def _update(
    page: Page, session: Session, now: datetime, username: str, data: UserUpdate
) -> DomainError | None:
    try:
        org.update_user(session, username=username, data=data, now=now)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return exc
    return None


@router.post("/admin/users/{username}")
def save(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm, username: str
) -> Response:
    values = fields(form, EDIT_FIELDS + ROBOT_FIELDS)
    values = robot_form(values)  # an empty secret keeps it
    try:
        data = parse_patch(UserUpdate, values, LABELS)
    except DomainError as exc:
        return edit_page(
            page, session, now, username, values=values, error=page.message(exc), status=422
        )
    refused = _update(page, session, now, username, data)
    if refused is not None:
        return edit_page(
            page,
            session,
            now,
            username,
            values=values,
            error=page.message(refused),
            status=refused.status,
        )
    return redirect("/admin/users?ok=saved")


@router.post("/admin/users/{username}/active")
def set_active(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm, username: str
) -> Response:
    """Deactivating a user ends their sessions and tokens at once (org.update_user)."""
    active = active_flag(field(form, "active"))
    refused = _update(page, session, now, username, UserUpdate(active=active))
    if refused is not None:
        return edit_page(
            page, session, now, username, error=page.message(refused), status=refused.status
        )
    return redirect(f"/admin/users?ok={'on' if active else 'off'}")


@router.post("/admin/users/{username}/reset")
def reset_password(
    page: PageDep, session: SessionDep, _: PageAdmin, now: NowDep, form: CsrfForm, username: str
) -> Response:
    """The one-time password is on this answer only (no redirect, no-store): the admin reads
    it to the user; the user must choose their own at the next login."""
    password = org.reset_password(session, username=username, now=now)
    user = org.get_user(session, username=username)
    return page.render("admin/password_once.html", target=user, password=password)


@router.post("/admin/users/{username}/unlock")
def unlock(
    page: PageDep, session: SessionDep, _: PageAdmin, form: CsrfForm, username: str
) -> Response:
    org.unlock_user(session, username=username)
    return redirect(f"/admin/users/{username}?ok=unlocked")
