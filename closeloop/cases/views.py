"""What the pages show about cases, assembled once here so that a page only draws it: one case
with everything around it, the filing form's choices, the dispatcher's queue and a grid worker's
own cases. Every figure comes from the case services and is narrowed by jurisdiction."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from closeloop import labels
from closeloop.auth import policy
from closeloop.auth.policy import Principal
from closeloop.calendar.service import load_calendar
from closeloop.cases import attachments, history, queues
from closeloop.cases import service as cases
from closeloop.cases.queues import TimeLeft
from closeloop.cases.service import CaseFilter, Pending
from closeloop.errors import Forbidden
from closeloop.org import service as org
from closeloop.text import Msg
from models.attachment import Attachment
from models.case import Case, CasePage, CasePublic
from models.enums import Action, CaseKind, CaseState, RegionLevel, Role
from models.history import HistoryPublic
from models.org import Category, CategoryPublic, Region, Unit
from models.user import User

DISPATCH_ROLES = (Role.dispatcher, Role.supervisor)
# Whose jurisdiction is a region (a handler's is a unit, an admin's everything).
REGIONAL_ROLES = (Role.reporter, Role.dispatcher, Role.supervisor)


def display_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Users' display names by id (who uploaded a file, who asked for an extension)."""
    if not ids:
        return {}
    rows = session.exec(select(User).where(col(User.id).in_(ids)))
    return {u.id: u.display_name for u in rows if u.id is not None}


BEFORE, AFTER = "before", "after"  # 整改前 (reported with the case), 整改后 (submitted)


def evidence_phase(files: list[Attachment], steps: list[HistoryPublic]) -> dict[int, str]:
    """Which side of the rectification each file shows, from the history entry it came with:
    named by a submit (提交整改) → after; uploaded before the case was first dispatched (with
    the report) → before; anything else is not marked."""
    submitted = {
        int(i)
        for h in steps
        if h.action == Action.submit
        for i in (h.data.get("attachment_ids") or [])
    }
    dispatched = next((h.at for h in steps if h.action == Action.dispatch), None)
    phase: dict[int, str] = {}
    for f in files:
        if f.id is None:
            continue
        if f.id in submitted:
            phase[f.id] = AFTER
        elif dispatched is None or f.uploaded_at <= dispatched:
            phase[f.id] = BEFORE
    return phase


@dataclass
class CaseView:
    case: CasePublic
    files: list[Attachment]
    uploaders: dict[int, str]
    steps: list[HistoryPublic]
    pending: Pending
    requesters: dict[int, str]
    duplicates: list[Case]  # cases it may be merged into, when merging is allowed now
    left: TimeLeft | None  # on the deadline running now
    default_unit: str  # the unit a dispatch offers first (queues.dispatch_default)
    # The category's routing unit when that unit has returned the case (not offered again).
    refused_default: queues.Returned | None = None
    phase: dict[int, str] = field(default_factory=dict)  # each file: BEFORE or AFTER
    merged_into: str = ""  # the number of the case it was merged into


def case_view(session: Session, *, actor: Principal, case_id: int, now: datetime) -> CaseView:
    case = cases.load_case(session, actor=actor, case_id=case_id)
    pending = cases.pending_requests(session, [case_id])[case_id]
    public = cases.to_public(case, actor, pending=pending, now=now)
    files = attachments.list_attachments(session, actor=actor, case_id=case_id)
    duplicates: list[Case] = []
    if Action.merge in public.allowed_actions:
        duplicates = queues.possible_duplicates(session, actor=actor, cases=[case])[case_id]
    category = session.get(Category, public.category_code or "")
    routing = (category.unit_code if category else None) or ""
    returned = queues.returned_by(session, case_id=case_id)
    cal = load_calendar(session)
    steps = history.history_of(session, case_id=case_id)
    merged = session.get(Case, case.merged_into_id) if case.merged_into_id else None
    return CaseView(
        case=public,
        files=files,
        uploaders=display_names(session, {f.uploaded_by for f in files}),
        steps=steps,
        pending=pending,
        requesters=display_names(
            session,
            {r.requested_by for r in (pending.extension, pending.suspension, pending.return_) if r},
        ),
        duplicates=duplicates,
        left=queues.running_time_left(cal, public, now),
        default_unit=queues.dispatch_default(routing, returned),
        refused_default=returned.get(routing),
        phase=evidence_phase(files, steps),
        merged_into=merged.number if merged else "",
    )


@dataclass
class FilingForm:
    kinds: list[CaseKind]  # what the user may file; the form offers a choice only among several
    classes: list[CategoryPublic]
    items: list[CategoryPublic]
    grids: list[Region]  # in the user's jurisdiction

    def class_of(self, item_code: str) -> str:
        return next((i.parent_code or "" for i in self.items if i.code == item_code), "")


def require_may_file(actor: Principal) -> None:
    """Whether to offer the form at all; file_case itself enforces who may file what, where."""
    if not policy.may_file(actor):
        role = labels.ROLE[Role(actor.role)]
        raise Forbidden(Msg(f"{role:zh}不能上报案件", f"role {actor.role} may not file cases"))


def filing_form(session: Session, *, actor: Principal) -> FilingForm:
    require_may_file(actor)
    categories = org.list_categories(session)
    rows = session.exec(
        select(Region).where(Region.level == RegionLevel.grid).order_by(col(Region.path))
    )
    return FilingForm(
        kinds=policy.kinds_to_file(actor),
        classes=[c for c in categories if c.parent_code is None],
        items=[c for c in categories if c.parent_code],
        grids=[r for r in rows if policy.in_region(actor, r.path)],
    )


def awaiting_verification(session: Session, *, actor: Principal, now: datetime) -> list[CasePublic]:
    """Cases in verification that this user may verify now."""
    verifying = cases.list_cases(
        session,
        actor=actor,
        filters=CaseFilter(state=CaseState.verifying),
        page=1,
        page_size=queues.QUEUE_SIZE,
        now=now,
    )
    return [c for c in verifying.items if Action.approve in c.allowed_actions]


@dataclass
class DispatchQueue:
    new: list[CasePublic]  # reported, waiting to be dispatched
    duplicates: dict[int, list[Case]]  # for each new case, the cases it may repeat
    to_verify: list[CasePublic]
    returned: dict[int, queues.Returned]  # a returned (退单) new case's latest return
    default_unit: dict[int, str]  # the unit its dispatch offers first (queues.dispatch_default)
    refused_default: dict[int, queues.Returned]  # its routing unit returned it: why


def dispatch_queue(session: Session, *, actor: Principal, now: datetime) -> DispatchQueue:
    policy.require_role(actor, *DISPATCH_ROLES)
    new = cases.list_cases(
        session,
        actor=actor,
        filters=CaseFilter(state=CaseState.reported),
        page=1,
        page_size=queues.QUEUE_SIZE,
        now=now,
    )
    ids = [c.id for c in new.items]
    rows = list(session.exec(select(Case).where(col(Case.id).in_(ids))))
    returns = queues.returns_of(session, ids)
    routing = {c.code: c.unit_code or "" for c in session.exec(select(Category))}
    default_unit, refused = {}, {}
    for c in new.items:
        units = queues.by_unit(returns[c.id])
        category_unit = routing.get(c.category_code or "", "")
        default_unit[c.id] = queues.dispatch_default(category_unit, units)
        if category_unit in units:
            refused[c.id] = units[category_unit]
    return DispatchQueue(
        new=new.items,
        duplicates=queues.possible_duplicates(session, actor=actor, cases=rows),
        to_verify=awaiting_verification(session, actor=actor, now=now),
        returned={i: r[0] for i, r in returns.items() if r},
        default_unit=default_unit,
        refused_default=refused,
    )


def worklist(session: Session, *, actor: Principal, now: datetime) -> queues.Worklist:
    """A unit's work list (待办), for its handlers."""
    policy.require_role(actor, Role.handler)
    cal = load_calendar(session)
    return queues.unit_worklist(session, actor=actor, cal=cal, now=now)


def own_cases(session: Session, *, actor: Principal, page: int, now: datetime) -> CasePage:
    """A grid worker's cases, what waits for them (verifying their own event) first."""
    listing = cases.list_cases(
        session, actor=actor, filters=CaseFilter(), page=page, page_size=50, now=now
    )
    listing.items.sort(key=lambda c: Action.approve not in c.allowed_actions)
    return listing


@dataclass
class FilterChoices:
    """What the case list's filter form offers: the places around the user's jurisdiction (its
    own region, the regions above it and below it), the units that serve it, the checklist."""

    streets: list[Region]
    communities: list[Region]
    grids: list[Region]
    units: list[Unit]
    classes: list[Category]
    items: list[Category]


def filter_choices(session: Session, *, actor: Principal) -> FilterChoices:
    mine = actor.region_path if actor.role in REGIONAL_ROLES else None

    def near(path: str | None) -> bool:
        return mine is None or path is None or path.startswith(mine) or mine.startswith(path)

    regions = [r for r in session.exec(select(Region).order_by(col(Region.path))) if near(r.path)]
    paths = {r.code: r.path for r in session.exec(select(Region))}
    units = session.exec(select(Unit).order_by(col(Unit.code)))
    categories = list(session.exec(select(Category).order_by(col(Category.code))))
    return FilterChoices(
        streets=[r for r in regions if r.level == RegionLevel.street],
        communities=[r for r in regions if r.level == RegionLevel.community],
        grids=[r for r in regions if r.level == RegionLevel.grid],
        units=[u for u in units if near(paths.get(u.region_code or ""))],
        classes=[c for c in categories if c.parent_code is None],
        items=[c for c in categories if c.parent_code is not None],
    )
