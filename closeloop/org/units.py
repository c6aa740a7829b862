"""Rectifying units: create, change, deactivate, and which units serve a region (`units_for`)."""

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from closeloop.errors import Conflict, Invalid
from closeloop.org.common import Batch, check_contacts, exists, get_or_404, insert
from closeloop.org.regions import district_of
from closeloop.org.robots import robot_fields
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState, RegionLevel
from models.org import Category, Region, Unit, UnitCreate, UnitUpdate

UNIT = Msg("单位", "unit")


def _check_district(session: Session, region_code: str | None) -> None:
    if region_code is None:
        return
    region = session.get(Region, region_code)
    if region is None or region.level != RegionLevel.district:
        raise Invalid(
            Msg(
                f"region_code {region_code} 必须是已有的区（district）",
                f"region_code {region_code!r} must name an existing district-level region "
                "(or be empty: the unit serves every district)",
            )
        )


def create_unit(session: Session, *, data: UnitCreate, batch: Batch | None = None) -> Unit:
    """A new unit (`batch`: see common.Batch)."""
    exists(session, Unit, data.code, UNIT, batch)
    check_contacts(
        emails={"email": data.email, "head_email": data.head_email}, url=data.webhook_url
    )
    _check_district(session, data.region_code)
    robot = robot_fields(
        url=data.webhook_url,
        kind=data.webhook_kind,
        secret=data.webhook_secret,
        given=data.model_fields_set,
    )
    unit = Unit(**{**data.model_dump(), **robot})
    insert(session, unit, Msg(f"单位 {data.code}", f"unit {data.code}"), batch, data.code)
    return unit


def list_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.code)))


def open_case_count(session: Session, code: str) -> int:
    """The cases a unit holds now (dispatched, rectifying, suspended or verifying)."""
    stmt = (
        select(func.count())
        .select_from(Case)
        .where(Case.unit_code == code, col(Case.state).in_(list(CaseState.dispatched_states())))
    )
    return int(session.exec(stmt).one())


def unit_usage(session: Session) -> dict[str, dict[str, int]]:
    """Per unit code: its open cases, all its cases and the categories routed to it (one GROUP
    BY each), for the admin's list."""
    held = list(CaseState.dispatched_states())
    usage: dict[str, dict[str, int]] = {}

    def slot(code: str | None) -> dict[str, int]:
        return usage.setdefault(code or "", {"cases": 0, "open_cases": 0, "categories": 0})

    for code, n in session.exec(
        select(Case.unit_code, func.count())
        .where(col(Case.unit_code).is_not(None))
        .group_by(Case.unit_code)
    ).all():
        slot(code)["cases"] = n
    for code, n in session.exec(
        select(Case.unit_code, func.count())
        .where(col(Case.state).in_(held))
        .where(col(Case.unit_code).is_not(None))
        .group_by(Case.unit_code)
    ).all():
        slot(code)["open_cases"] = n
    for code, n in session.exec(
        select(Category.unit_code, func.count())
        .where(col(Category.unit_code).is_not(None))
        .group_by(Category.unit_code)
    ).all():
        slot(code)["categories"] = n
    return usage


def update_unit(session: Session, *, code: str, data: UnitUpdate) -> Unit:
    unit = get_or_404(session, Unit, code, UNIT)
    changes = data.model_dump(exclude_unset=True)
    check_contacts(
        emails={
            "email": changes.get("email", unit.email),
            "head_email": changes.get("head_email", unit.head_email),
        },
        url=changes.get("webhook_url", unit.webhook_url),
    )
    if "region_code" in changes:
        _check_district(session, changes["region_code"])
    changes.update(
        robot_fields(
            url=changes.get("webhook_url", unit.webhook_url),
            kind=changes.get("webhook_kind"),
            secret=changes.get("webhook_secret"),
            given=set(changes),
            stored_kind=unit.webhook_kind,
            stored_secret=unit.webhook_secret,
        )
    )
    if changes.get("active") is False and unit.active:
        held = open_case_count(session, code)
        if held:
            raise Conflict(
                Msg(
                    f"单位 {code} 还有 {held} 件未办结的案件，请先改派或办结后再停用",
                    f"unit {code} still holds {held} open cases (dispatched, rectifying, "
                    "suspended or verifying); re-dispatch or close them before deactivating it",
                )
            )
        routed = list(
            session.exec(
                select(Category.code)
                .where(Category.unit_code == code, col(Category.active).is_(True))
                .order_by(Category.code)
            )
        )
        if routed:
            names = ", ".join(routed[:10]) + (" …" if len(routed) > 10 else "")
            raise Conflict(
                Msg(
                    f"单位 {code} 是 {len(routed)} 个启用类别的默认处置单位（{names}），"
                    "请先为这些类别改设单位",
                    f"unit {code} is the default unit of {len(routed)} active categories "
                    f"({names}); give them another unit_code first",
                )
            )
    for name, value in changes.items():
        setattr(unit, name, value)
    session.add(unit)
    session.flush()
    return unit


def units_for(session: Session, *, region_code: str | None) -> list[Unit]:
    """The active units that serve a region's district: those of that district and those that
    serve every district (region_code NULL). None: every active unit."""
    stmt = select(Unit).where(col(Unit.active).is_(True))
    if region_code is not None:
        region = session.get(Region, region_code)
        if region is None:
            raise Invalid(
                Msg(f"区域 {region_code} 不存在", f"region_code {region_code!r} does not exist")
            )
        district = district_of(region)
        stmt = stmt.where(or_(col(Unit.region_code).is_(None), col(Unit.region_code) == district))
    return list(session.exec(stmt.order_by(Unit.code)))


def serves(unit: Unit, region_path: str | None) -> bool:
    """Whether a unit serves the district of a case filed at `region_path`."""
    if unit.region_code is None or not (region_path or "").strip("/"):
        return True  # serves every district, or a case above any district
    return (region_path or "").startswith(f"/{unit.region_code}/")
