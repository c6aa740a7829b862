"""One row of a sheet through the org service: create it, or update the one with its code.

The cells become the body the API would take (RegionCreate … UserCreate, or the *Update of an
existing row) and the service applies its rules. Columns the sheet does not have are left as
they are on an update; an empty cell clears an optional field, except `active` (empty: a new
row is active, an existing one keeps its state) and a user's `password` (empty: a new user gets a
one-time password, an existing one keeps theirs).

`active` = no is not applied with the row: `deactivate` applies it once every row is in, children
before parents and users, categories, units before what they depend on, so that a workbook can
deactivate a street with its communities, or a unit with the categories routed to it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from closeloop.auth import security
from closeloop.errors import Invalid
from closeloop.org import service as org
from closeloop.org.workbook.columns import KEY, LEVELS, ROLES, SHEETS, boolean
from closeloop.text import Msg
from models.org import (
    CategoryCreate,
    CategoryUpdate,
    RegionCreate,
    RegionUpdate,
    UnitCreate,
    UnitUpdate,
)
from models.user import UserCreate, UserUpdate

Record = dict[str, str | None]
UPDATES: dict[str, Any] = {
    "regions": RegionUpdate,
    "units": UnitUpdate,
    "categories": CategoryUpdate,
    "users": UserUpdate,
}


@dataclass
class Applied:
    row: Any  # the Region, Unit, Category or User
    password: str | None  # the one-time password generated for a new user
    deactivate: bool  # the row says active = no and the row is active now


def level(value: str | None) -> str | None:
    return LEVELS.get(value.strip().lower(), value) if value is not None else None


def apply(
    session: Session,
    *,
    sheet: str,
    columns: list[str],
    record: Record,
    current: Any | None,
    now: datetime,
    batch: org.Batch | None = None,
) -> Applied:
    """Create the row, or update `current` (the row with its code) when the row changes it;
    all but a deactivation, see `deactivate`. A create goes into `batch` when one is given
    (see org.common.Batch)."""
    body = _body(sheet, columns, record)
    key = str(body.pop(KEY[sheet]))
    active = body.pop("active", None)
    if current is not None:
        if active is True:
            body["active"] = True
        if sheet == "users" and body.get("password") is None:
            body.pop("password", None)  # an existing user keeps their password
        data = UPDATES[sheet].model_validate(body)
        changes = data.model_dump(exclude_unset=True)
        if any(name == "password" or getattr(current, name) != v for name, v in changes.items()):
            # In a savepoint: a refusal after the service changed something leaves nothing.
            with session.begin_nested():
                current = _update(session, sheet=sheet, key=key, data=data, now=now)
        return Applied(row=current, password=None, deactivate=active is False and current.active)
    # A create needs no savepoint here: the service checks before it writes, in one of its own
    # (or, in a batch, does not write at all).
    body = {KEY[sheet]: key, **{k: v for k, v in body.items() if v is not None}}
    password = None
    if sheet == "regions":
        row: Any = org.create_region(session, data=RegionCreate.model_validate(body), batch=batch)
    elif sheet == "units":
        row = org.create_unit(session, data=UnitCreate.model_validate(body), batch=batch)
    elif sheet == "categories":
        data = CategoryCreate.model_validate(body)
        row = org.create_category(session, data=data, batch=batch)
    else:
        one_time = body.get("password") is None
        if one_time:
            password = body["password"] = security.one_time_password()
        data = UserCreate.model_validate(body)
        row = org.create_user(session, data=data, now=now, one_time=one_time, batch=batch)
    return Applied(row=row, password=password, deactivate=active is False)


def _update(session: Session, *, sheet: str, key: str, data: Any, now: datetime) -> Any:
    if sheet == "regions":
        return org.update_region(session, code=key, data=data)
    if sheet == "units":
        return org.update_unit(session, code=key, data=data)
    if sheet == "categories":
        return org.update_category(session, code=key, data=data)
    return org.update_user(session, username=key, data=data, now=now)


def deactivate(session: Session, *, sheet: str, key: str, now: datetime) -> None:
    """Deactivate the row through the service's update (which refuses what would break)."""
    with session.begin_nested():
        _update(session, sheet=sheet, key=key, data=UPDATES[sheet](active=False), now=now)


def _body(sheet: str, columns: list[str], record: Record) -> dict[str, Any]:
    """The row's cells as the API body's fields; refuses an empty required cell or a bad yes/no."""
    body: dict[str, Any] = {c: record.get(c) for c in columns}
    missing = [c.name for c in SHEETS[sheet] if c.required and body.get(c.name) is None]
    if missing:
        raise Invalid(Msg(f"{'、'.join(missing)} 必填", f"{', '.join(missing)} must not be empty"))
    if sheet == "regions":
        body["level"] = level(record.get("level"))
    if sheet == "users":
        role = str(body["role"])
        body["role"] = ROLES.get(role.strip().lower(), role)
    text = body.get("active")
    if text is not None:
        value = boolean(str(text))
        if value is None:
            raise Invalid(
                Msg(
                    f"active 应为 是/否（不是 {text}）",
                    f"active must be yes/no, true/false or 1/0, not {text!r}",
                )
            )
        body["active"] = value
    return body
