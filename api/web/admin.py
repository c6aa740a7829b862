"""What the admin pages share: the admin-only dependency, reading a form into a service's input
with a refusal that names the field, and the admin index with the first-run steps (/admin)."""

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from api.deps import SessionDep
from api.web import i18n
from api.web.deps import PageDep, PageUser, page_router
from closeloop.auth.policy import Principal, require_role
from closeloop.errors import Invalid
from closeloop.text import Msg
from models.enums import Role
from models.org import Region

router = page_router()
M = TypeVar("M", bound=BaseModel)


def get_page_admin(user: PageUser) -> Principal:
    """The signed-in admin; anyone else gets the 403 page."""
    require_role(user, Role.admin)
    return user


PageAdmin = Annotated[Principal, Depends(get_page_admin)]


def first_run(session: Session) -> bool:
    """No region yet: the district has not been set up."""
    return session.exec(select(Region.code).limit(1)).first() is None


# Why pydantic refused a field, in words (its English text follows in the English half).
_REASONS = {
    "missing": ("必须填写", "is required"),
    "string_too_short": ("必须填写", "is required"),
    "string_too_long": ("最多 {max_length} 个字符", "is at most {max_length} characters"),
    "string_pattern_mismatch": (
        "只能包含字母、数字和 _ . - @",
        "may contain only letters, digits and _ . - @",
    ),
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "greater_than": ("必须大于 {gt}", "must be more than {gt}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "int_parsing": ("必须是整数", "must be a whole number"),
    "int_from_float": ("必须是整数", "must be a whole number"),
    "float_parsing": ("必须是数字", "must be a number"),
    "enum": ("必须是以下之一：{expected}", "must be one of {expected}"),
    "bool_parsing": ("必须是 是/否", "must be yes or no"),
}


def refusal(exc: ValidationError, labels: dict[str, str]) -> Msg:
    """A model's refusal as one message naming each field by its label on the form."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        label = i18n.msg(labels[name]) if name in labels else Msg.same(name)
        zh, en = _REASONS.get(err["type"], ("无效", err["msg"]))
        ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
        try:
            reason = Msg(zh.format(**ctx), en.format(**ctx))
        except (KeyError, IndexError):
            reason = Msg("无效", err["msg"])
        parts.append(label + i18n.msg("colon") + reason)
    return Msg.join(parts, "；", "; ")


def parse(model: type[M], values: dict[str, Any], labels: dict[str, str]) -> M:
    """The form's values (empty text meaning "not given") as `model`, or Invalid naming the
    fields that were refused."""
    data = {k: (v if v != "" else None) for k, v in values.items()}
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise Invalid(refusal(exc, labels)) from None


def parse_patch(model: type[M], values: dict[str, str], labels: dict[str, str]) -> M:
    """An edit form as a PATCH body: every field shown is sent, an empty one as null (clearing
    it), except a field that cannot be null (a name), which is refused as missing."""
    required: frozenset[str] = getattr(model, "REQUIRED", frozenset())
    missing = [n for n, v in values.items() if v == "" and n in required]
    if missing:
        what = [i18n.msg(labels[n]) if n in labels else Msg.same(n) for n in missing]
        sep = i18n.msg("sep")
        raise Invalid(i18n.msg("err.required", what=Msg.join(what, sep.zh, sep.en)))
    try:
        return model.model_validate({k: (v if v != "" else None) for k, v in values.items()})
    except ValidationError as exc:
        raise Invalid(refusal(exc, labels)) from None


def active_flag(raw: str) -> bool:
    """The deactivate/reactivate button's value: "1" reactivates, anything else deactivates."""
    return raw == "1"


@router.get("/admin")
def admin_index(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    return page.render("admin/index.html", first_run=first_run(session))
