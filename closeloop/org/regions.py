"""The region tree: create, change (rename, move, re-level, deactivate) and the tree with counts.

A region's `path` is its ancestors' codes ("/district/street/community/grid/"); a case keeps the
path of the region it was filed in (`case.region_path`), which jurisdiction and the metrics match
by prefix. Moving a region therefore rewrites the prefix of its subtree and of every case in it.
"""

from collections import Counter
from typing import Any

from sqlalchemy import String, func, literal, update
from sqlalchemy import case as when
from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.errors import Conflict, Invalid
from closeloop.org.common import Batch, exists, get_or_404, insert
from closeloop.text import Msg
from models.case import Case
from models.enums import CaseState, RegionLevel
from models.org import Region, RegionCreate, RegionNode, RegionUpdate

PARENT_LEVEL = {
    RegionLevel.street: RegionLevel.district,
    RegionLevel.community: RegionLevel.street,
    RegionLevel.grid: RegionLevel.community,
}
REGION = Msg("区域", "region")


def _parent_for(
    session: Session, *, code: str, level: RegionLevel, parent_code: str | None
) -> Region | None:
    """The parent a region of `level` may have: none for a district, else an existing region
    of the level just above (422 otherwise)."""
    if level == RegionLevel.district:
        if parent_code:
            raise Invalid(Msg("区（district）不能有上级", "a district has no parent_code"))
        return None
    parent = session.get(Region, parent_code) if parent_code else None
    expected = PARENT_LEVEL[level]
    if parent is None:
        raise Invalid(
            Msg(
                f"{labels.REGION_LEVEL[level].zh}需要指定上级{labels.REGION_LEVEL[expected].zh}"
                "（parent_code）",
                f"a {level} needs parent_code naming an existing {expected}",
            )
        )
    if parent.level != expected:
        raise Invalid(
            Msg(
                f"{labels.REGION_LEVEL[level].zh}的上级必须是{labels.REGION_LEVEL[expected].zh}，"
                f"{parent.code} 是{labels.REGION_LEVEL[RegionLevel(parent.level)].zh}",
                f"the parent of a {level} must be a {expected}; {parent.code} is a {parent.level}",
            )
        )
    if parent.code == code or f"/{code}/" in parent.path:
        raise Invalid(
            Msg(f"区域 {code} 不能移到自己的下级之下", f"region {code} cannot move under itself")
        )
    return parent


def create_region(session: Session, *, data: RegionCreate, batch: Batch | None = None) -> Region:
    """A new region under an existing parent of the level above (`batch`: see common.Batch)."""
    exists(session, Region, data.code, REGION, batch)
    parent = _parent_for(session, code=data.code, level=data.level, parent_code=data.parent_code)
    path = f"{parent.path if parent else '/'}{data.code}/"
    region = Region(**data.model_dump(), path=path)
    insert(session, region, Msg(f"区域 {data.code}", f"region {data.code}"), batch, data.code)
    return region


def list_regions(session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.path)))


def district_of(region: Region) -> str:
    """The code of the district a region lies in (the first code of its path)."""
    return region.path.strip("/").split("/")[0]


def _in_subtree(column: Any, path: str) -> Any:
    return col(column).startswith(path, autoescape=True)


def _count_children(session: Session, code: str, *, active_only: bool = False) -> int:
    stmt = select(func.count()).select_from(Region).where(Region.parent_code == code)
    if active_only:
        stmt = stmt.where(col(Region.active).is_(True))
    return int(session.exec(stmt).one())


def _count_cases(session: Session, path: str) -> int:
    stmt = select(func.count()).select_from(Case).where(_in_subtree(Case.region_path, path))
    return int(session.exec(stmt).one())


def _rewrite_paths(session: Session, *, old: str, new: str) -> None:
    """Replace the prefix `old` by `new` in the subtree's paths and its cases' region_path."""
    keep = len(old) + 1
    for model, column in ((Region, Region.path), (Case, Case.region_path)):
        session.execute(
            update(model)
            .where(_in_subtree(column, old))
            .values({column: literal(new, String).concat(func.substr(column, keep))})
            .execution_options(synchronize_session=False)
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Region | Case):
            session.expire(obj)


def update_region(session: Session, *, code: str, data: RegionUpdate) -> Region:
    region = get_or_404(session, Region, code, REGION)
    changes = data.model_dump(exclude_unset=True)
    level = changes.get("level", region.level)
    parent_code = changes.get("parent_code", region.parent_code)
    if level != region.level:
        children, cases = _count_children(session, code), _count_cases(session, region.path)
        if children or cases:
            raise Conflict(
                Msg(
                    f"区域 {code} 有 {children} 个下级区域、{cases} 件案件，不能改变层级；"
                    "请新建一个该层级的区域",
                    f"region {code} has {children} child regions and {cases} cases, so its level "
                    "cannot change; create a new region of that level instead",
                )
            )
    if level != region.level or parent_code != region.parent_code:
        parent = _parent_for(session, code=code, level=level, parent_code=parent_code)
        new_path = f"{parent.path if parent else '/'}{code}/"
        if new_path != region.path:
            old_path = region.path
            session.flush()
            _rewrite_paths(session, old=old_path, new=new_path)
            region = get_or_404(session, Region, code, REGION)
        region.level, region.parent_code = level, parent_code
    if changes.get("active") is False and region.active:
        active_children = _count_children(session, code, active_only=True)
        if active_children:
            raise Conflict(
                Msg(
                    f"区域 {code} 还有 {active_children} 个启用的下级区域，请先停用它们",
                    f"region {code} has {active_children} active child regions; "
                    "deactivate them first",
                )
            )
    if changes.get("active") is True and not region.active and region.parent_code:
        parent_row = session.get(Region, region.parent_code)
        if parent_row is not None and not parent_row.active:
            raise Conflict(
                Msg(
                    f"上级区域 {parent_row.code} 已停用，请先启用上级",
                    f"the parent region {parent_row.code} is inactive; activate it first",
                )
            )
    for name in ("name", "active"):
        if name in changes:
            setattr(region, name, changes[name])
    session.add(region)
    session.flush()
    return region


def region_tree(session: Session) -> list[RegionNode]:
    """Every region in path order, with its depth and the counts of its subtree: two GROUP BY
    queries (children per parent, cases per filed path) besides the regions themselves."""
    regions = list_regions(session)
    children = dict(
        session.exec(
            select(Region.parent_code, func.count())
            .where(col(Region.parent_code).is_not(None))
            .group_by(Region.parent_code)
        ).all()
    )
    opened = func.sum(when((col(Case.state).in_(list(CaseState.open_states())), 1), else_=0))
    total: Counter[str] = Counter()
    open_: Counter[str] = Counter()
    for path, n, n_open in session.exec(
        select(Case.region_path, func.count(), opened).group_by(Case.region_path)
    ).all():
        # Credit each ancestor prefix of the filed path: "/D/S/C/G/" → /D/, /D/S/, /D/S/C/, …
        codes = path.strip("/").split("/") if path.strip("/") else []
        for i in range(1, len(codes) + 1):
            prefix = "/" + "/".join(codes[:i]) + "/"
            total[prefix] += n
            open_[prefix] += int(n_open or 0)
    return [
        RegionNode(
            **r.model_dump(),
            depth=r.path.count("/") - 2,
            children=children.get(r.code, 0),
            cases=total[r.path],
            open_cases=open_[r.path],
        )
        for r in regions
    ]
