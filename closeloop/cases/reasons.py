"""Return reasons (退单原因): the code list a unit picks from when it returns a case (`return`) or
asks to (`request_return`). The admin keeps the list: adds reasons, renames, reorders and
deactivates them (a deactivated reason stays on the cases that used it, and is no longer offered).

A return without a reason code (the CONTRACT's `return` takes only `reason`) is recorded as
`other` (其他), the catch-all the migration seeds.
"""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from closeloop.auth.policy import Principal, require_role
from closeloop.errors import Conflict, Invalid, NotFound
from closeloop.text import Msg
from models.enums import Role
from models.reason import ReturnReason, ReturnReasonCreate, ReturnReasonUpdate

DEFAULT_CODE = "other"
# The usual reasons of a 12345 centre, as the migration seeds them (0010_dispatch_practice).
USUAL = (
    ("not_ours", "非本单位职责", "not this unit's responsibility", 1),
    ("address", "地址不详", "address unclear", 2),
    ("duplicate", "重复", "duplicate", 3),
    (DEFAULT_CODE, "其他", "other", 9),
)


@dataclass(frozen=True)
class Chosen:
    """The reason a return records: its code and its name in both languages."""

    code: str
    name: str
    name_en: str

    def record(self) -> dict[str, str]:
        return {"reason_code": self.code, "reason_name": self.name}


def list_reasons(session: Session, *, include_inactive: bool = False) -> list[ReturnReason]:
    """The reasons in their order (the active ones unless asked for all)."""
    stmt = select(ReturnReason).order_by(col(ReturnReason.seq), col(ReturnReason.code))
    if not include_inactive:
        stmt = stmt.where(col(ReturnReason.active).is_(True))
    return list(session.exec(stmt))


def get_reason(session: Session, *, code: str) -> ReturnReason:
    row = session.get(ReturnReason, code)
    if row is None:
        raise NotFound(Msg(f"退单原因 {code} 不存在", f"return reason {code!r} does not exist"))
    return row


def create_reason(session: Session, *, actor: Principal, data: ReturnReasonCreate) -> ReturnReason:
    require_role(actor, Role.admin)
    if session.get(ReturnReason, data.code) is not None:
        raise Conflict(
            Msg(f"退单原因代码 {data.code} 已存在", f"return reason code {data.code!r} exists")
        )
    row = ReturnReason(**data.model_dump(), active=True)
    session.add(row)
    session.flush()
    return row


def update_reason(
    session: Session, *, actor: Principal, code: str, data: ReturnReasonUpdate
) -> ReturnReason:
    """Rename, reorder, deactivate (`active: false`) or reactivate a reason."""
    require_role(actor, Role.admin)
    row = get_reason(session, code=code)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def ensure_usual(session: Session) -> None:
    """Add the usual reasons that are missing (a database made without the migration: tests,
    a demo on a wiped database); the ones present are left as the admin keeps them."""
    for code, name, name_en, seq in USUAL:
        if session.get(ReturnReason, code) is None:
            session.add(ReturnReason(code=code, name=name, name_en=name_en, seq=seq))
    session.flush()


def choose(session: Session, code: str | None) -> Chosen:
    """The reason a return records: the given code, which must be an active reason of the
    list (else 422 naming it and the allowed codes); without one, `other`."""
    if not code:
        row = session.get(ReturnReason, DEFAULT_CODE)
        if row is None:  # the admin cannot delete it, but a hand-made database may lack it
            return Chosen(DEFAULT_CODE, "其他", "other")
        return Chosen(row.code, row.name, row.name_en)
    row = session.get(ReturnReason, code)
    if row is None or not row.active:
        allowed = ", ".join(r.code for r in list_reasons(session))
        why = ("不存在", "does not exist") if row is None else ("已停用", "is deactivated")
        raise Invalid(
            Msg(
                f"reason_code：退单原因 {code} {why[0]}，可选：{allowed}",
                f"reason_code: return reason {code!r} {why[1]}; allowed: {allowed}",
            )
        )
    return Chosen(row.code, row.name, row.name_en)
