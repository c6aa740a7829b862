"""One row of a sheet through the org service: create it, or update the one with its code.

The cells become the body the API would take (RegionCreate … UserCreate, or the *Update of an
existing row) and the service applies its rules. Columns the sheet does not have are left as
they are on an update; an empty cell clears an optional field, except `active` (empty: a new
row is active, an existing one keeps its state) and a user's `password` (empty: a new user gets a
one-time password, an existing one keeps theirs)."""

from datetime import datetime

from sqlmodel import Session

from closeloop.auth import security
from closeloop.errors import Invalid
from closeloop.org import service as org
from closeloop.org.workbook.columns import KEY, LEVELS, ROLES, SHEETS, boolean
from closeloop.text import Msg
from models.org import CategoryCreate, RegionCreate, UnitCreate
from models.user import UserCreate

Record = dict[str, str | None]


def level(value: str | None) -> str | None:
    return LEVELS.get(value.strip().lower(), value) if value is not None else None


def apply(
    session: Session, *, sheet: str, columns: list[str], record: Record, exists: bool, now: datetime
) -> str | None:
    """Create or update the row; the one-time password generated for a new user, else None."""
    body = _body(sheet, columns, record)
    active = body.pop("active", None)
    if exists:
        raise Invalid(
            Msg(
                f"{KEY[sheet]} {record[KEY[sheet]]} 已存在",
                f"{KEY[sheet]} {record[KEY[sheet]]!r} already exists",
            )
        )
    password = None
    if sheet == "regions":
        row: object = org.create_region(session, data=RegionCreate.model_validate(_given(body)))
    elif sheet == "units":
        row = org.create_unit(session, data=UnitCreate.model_validate(_given(body)))
    elif sheet == "categories":
        row = org.create_category(session, data=CategoryCreate.model_validate(_given(body)))
    else:
        one_time = body.get("password") is None
        if one_time:
            password = body["password"] = security.one_time_password()
        row = org.create_user(
            session, data=UserCreate.model_validate(_given(body)), now=now, one_time=one_time
        )
    if active is False:
        row.active = False  # type: ignore[attr-defined]
        session.flush()
    return password


def _body(sheet: str, columns: list[str], record: Record) -> dict[str, object]:
    """The row's cells as the API body's fields; refuses an empty required cell or a bad yes/no."""
    body: dict[str, object] = {c: record.get(c) for c in columns}
    missing = [c.name for c in SHEETS[sheet] if c.required and body.get(c.name) is None]
    if missing:
        raise Invalid(
            Msg(f"{'、'.join(missing)} 必填", f"{', '.join(missing)} must not be empty")
        )
    if sheet == "regions":
        body["level"] = level(record.get("level"))
    if sheet == "users" and body.get("role") is not None:
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


def _given(body: dict[str, object]) -> dict[str, object]:
    """A create body: empty cells left out, so the schema's defaults and 'required' apply."""
    return {k: v for k, v in body.items() if v is not None}
