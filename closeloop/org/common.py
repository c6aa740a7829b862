"""What the organisation's services share: lookups that 404, inserts that 409, contact checks."""

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.text import Msg

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
T = TypeVar("T")


@dataclass
class Batch:
    """Many creates of one kind at once (the organisation workbook). `taken` holds the keys that
    exist, loaded once by the caller, in place of a query per row; a created row is added to the
    session without a flush and its key taken. The caller flushes the batch (under
    session.no_autoflush meanwhile) and, if the database refuses it, creates the rows again one
    at a time without a batch to learn which row was refused."""

    taken: set[Any] = dataclasses.field(default_factory=set)


def taken(what: Msg, key: object) -> Conflict:
    return Conflict(Msg(f"{what:zh} {key} 已存在", f"{what:en} {key!r} already exists"))


def exists(
    session: Session, model: type, key: object, what: Msg, batch: Batch | None = None
) -> None:
    if batch is not None:
        if key in batch.taken:
            raise taken(what, key)
    elif session.get(model, key) is not None:
        raise taken(what, key)


def insert(
    session: Session, row: object, what: Msg, batch: Batch | None = None, key: object = None
) -> None:
    """Add and flush in a savepoint, so a duplicate that raced past the check is a 409; in a
    batch, add it and take its key (the caller flushes)."""
    if batch is not None:
        session.add(row)
        batch.taken.add(key)
        return
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(Msg(f"{what:zh} 已存在", f"{what:en} already exists")) from None


def get_or_404(session: Session, model: type[T], key: str, what: Msg) -> T:
    row = session.get(model, key)
    if row is None:
        raise NotFound(Msg(f"{what:zh} {key} 不存在", f"{what:en} {key!r} does not exist"))
    return row


def check_contacts(*, emails: dict[str, str | None], url: str | None) -> None:
    for field, value in emails.items():
        if value is not None and not EMAIL.match(value):
            raise Invalid(
                Msg(f"{field} 不是有效的邮箱地址", f"{field} {value!r} is not an email address")
            )
    if url is not None and not url.startswith(("http://", "https://")):
        raise Invalid(
            Msg(
                "webhook_url 必须以 http:// 或 https:// 开头",
                f"webhook_url {url!r} must be an http:// or https:// URL",
            )
        )
