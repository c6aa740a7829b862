"""Who is acting, what they may see (jurisdiction) and who may file a case. Who may take each
case action is written in the action table (closeloop/cases/actions.py)."""

from dataclasses import dataclass

from closeloop import labels
from closeloop.errors import Forbidden
from closeloop.text import Msg
from models.enums import CaseKind, Role


@dataclass(frozen=True)
class Principal:
    """The acting user, with the path of their region resolved once at authentication."""

    id: int | None
    username: str
    display_name: str
    role: Role
    unit_code: str | None = None
    region_code: str | None = None
    region_path: str | None = None
    # An admin reset the password: nothing but choosing a new one is allowed until then.
    must_change_password: bool = False


SYSTEM = Principal(id=None, username="system", display_name="系统", role=Role.admin)

_FILERS: dict[CaseKind, frozenset[Role]] = {
    CaseKind.event: frozenset({Role.reporter, Role.dispatcher, Role.supervisor}),
    CaseKind.hazard: frozenset({Role.dispatcher, Role.supervisor}),
    CaseKind.letter: frozenset(),
}


def in_region(user: Principal, path: str | None) -> bool:
    if user.region_path is None or path is None:
        return False
    return path.startswith(user.region_path)


def can_see(
    user: Principal,
    *,
    unit_code: str | None,
    region_path: str | None,
    reporter_id: int | None,
    assisting: bool = False,
) -> bool:
    """`assisting`: the user's unit has a task on the case (协办): its handlers see the case too,
    though they act on their task only."""
    if user.role == Role.admin:
        return True
    if user.role == Role.handler:
        return user.unit_code is not None and (unit_code == user.unit_code or assisting)
    if user.role == Role.reporter:
        return user.id is not None and reporter_id == user.id
    return in_region(user, region_path)


def require_visible(
    user: Principal,
    *,
    unit_code: str | None,
    region_path: str | None,
    reporter_id: int | None,
    what: Msg,
    assisting: bool = False,
) -> None:
    if not can_see(
        user,
        unit_code=unit_code,
        region_path=region_path,
        reporter_id=reporter_id,
        assisting=assisting,
    ):
        raise Forbidden(
            Msg(f"{what:zh}不在您的管辖范围内", f"{what:en} is outside your jurisdiction")
        )


def may_file(user: Principal) -> bool:
    """Whether the user's role may file a case of some kind (for offering the form)."""
    return any(user.role in roles for roles in _FILERS.values())


def kinds_to_file(user: Principal) -> list[CaseKind]:
    """The kinds of case the user's role may file (the filing form offers these)."""
    return [kind for kind, roles in _FILERS.items() if user.role in roles]


def require_filer(user: Principal, kind: CaseKind, grid_path: str) -> None:
    allowed = _FILERS[kind]
    if user.role not in allowed:
        roles = ", ".join(sorted(allowed)) or "nobody (created by the system)"
        role, what = labels.ROLE[Role(user.role)], labels.KIND[CaseKind(kind)]
        raise Forbidden(
            Msg(
                f"{role:zh}不能上报{what:zh}",
                f"role {user.role} may not file a {kind}; allowed: {roles}",
            )
        )
    if not in_region(user, grid_path):
        raise Forbidden(Msg("该网格不在您的管辖范围内", "that grid is outside your jurisdiction"))


def require_role(user: Principal, *roles: Role) -> None:
    if user.role not in roles:
        names = Msg.join((labels.ROLE[r] for r in roles), "、", ", ")
        raise Forbidden(
            Msg(
                f"需要角色：{names:zh}（您是{labels.ROLE[Role(user.role)]:zh}）",
                f"this needs the role {', '.join(roles)}; you are {user.role}",
            )
        )
