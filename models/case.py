"""The case: one row per event, hazard or letter, with its extension and suspension requests."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Column, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from models.enums import CaseKind, CaseState, Grade, RequestStatus, RequestType
from models.types import DbInt, LocalTime, UTCDateTime, path_index


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


# The version is the optimistic lock: every ORM UPDATE of a case is
# `UPDATE case … WHERE id = :id AND version = :v`, and a stale one raises StaleDataError.
_version_column = Column("version", Integer, nullable=False, default=1)


# The predicate of ix_case_ledger_few, written as asof.at_live writes its condition (SQLite uses
# a partial index only for a query term that implies this text).
LEDGER_FEW = (
    "dispatched_at IS NULL"
    " OR state NOT IN ('dispatched', 'rectifying', 'suspended', 'verifying', 'closed')"
)


def _when_given(column: str) -> dict[str, Any]:
    """A partial index's predicate: the rows whose `column` is not empty."""
    where = text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


class Case(SQLModel, table=True):
    __mapper_args__ = {"version_id_col": _version_column}
    __table_args__ = (
        Index("ix_case_state_due", "state", "due_at"),
        Index("ix_case_unit_state", "unit_code", "state"),
        path_index("case", "region_path"),
        Index("ix_case_reported_at", "reported_at"),
        Index("ix_case_state_sign_due", "state", "sign_due_at"),
        Index("ix_case_state_verify_due", "state", "verify_due_at"),
        Index("ix_case_state_follow_up_due", "state", "follow_up_due_at"),
        # The metrics' backlog at a report time: the cases not closed by then (0011_dash).
        Index("ix_case_backlog", "state", "closed_at", "cancelled_at"),
        # The few cases whose live columns the ledger rule of an imported case may change at any
        # report time (asof.at_live): never dispatched, or neither in a dispatched state nor
        # closed — found by their filing time; those dispatched after T by dispatched_at, and
        # those closed after T (or closed without a time) by ix_case_backlog (0013_dash).
        Index(
            "ix_case_ledger_few",
            "reported_at",
            postgresql_where=text(LEDGER_FEW),
            sqlite_where=text(LEDGER_FEW),
        ),
        Index("ix_case_dispatched_at", "dispatched_at"),
        # References most cases leave empty: only the cases that have one are indexed (0014_import).
        # Each look-up compares the column (= a value, as a foreign key's check does), which
        # implies IS NOT NULL, so these partial indexes serve them; an empty value cost every
        # filed or imported case one index insert each (~1.2 us a row of PostgreSQL's, 4 of 57).
        *(
            Index(f"ix_case_{column}", column, **_when_given(column))
            for column in ("reporter_id", "merged_into_id", "enterprise_code", "inspection_id")
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=40)
    kind: CaseKind = Field(sa_column=Column(String(10), nullable=False))
    state: CaseState = Field(sa_column=Column(String(12), nullable=False))
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    category_code: str | None = Field(default=None, foreign_key="category.code", max_length=40)
    grid_code: str | None = Field(default=None, foreign_key="region.code", max_length=40)
    # Denormalised from the grid so that jurisdiction and metrics need no join.
    street_code: str | None = Field(default=None, max_length=40, index=True)
    community_code: str | None = Field(default=None, max_length=40, index=True)
    region_path: str = Field(default="/", max_length=400)
    address: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=40)
    grade: Grade | None = Field(default=None, sa_column=Column(String(10)))
    urgent: bool = False
    reporter_id: int | None = Field(default=None, foreign_key="user.id")
    reported_at: datetime = Field(sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sign_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped whenever the rectification deadline moves; escalation keys on (case, version, level).
    deadline_version: int = 0
    # True when a deadline was computed on plain weekdays because the calendar lacks that year.
    due_estimated: bool = False
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verify_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    listed: bool = False
    rework_count: int = 0
    # Indexed (given only): deleting or merging checks who points here, and "what was merged into
    # X" reads it.
    merged_into_id: int | None = Field(default=None, foreign_key="case.id")
    # The enterprise or place the case belongs to (一企一档); its grid follows from it.
    enterprise_code: str | None = Field(default=None, foreign_key="enterprise.code", max_length=40)
    # The inspection whose failed item this hazard is.
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id")
    # Return review (派单异议审核): the units that have returned this case (退单); such a unit may
    # only ask to return it again (request_return). None: none has.
    returned_units: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Follow-up (回访) of a closed event: due by, the latest one's time and answer.
    follow_up_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    followed_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    satisfaction: str | None = Field(default=None, max_length=20)
    # Emergency information (紧急信息): urgent, or filed in an emergency category; the time its
    # first notice was delivered (the 30-minute goal is measured from reported_at to this).
    emergency: bool = False
    alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_version_column)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: CaseKind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    category_code: str = Field(min_length=1, max_length=40)
    # The grid; without it, the enterprise's grid, else the grid holding `location`.
    grid_code: str | None = Field(default=None, min_length=1, max_length=40)
    enterprise_code: str | None = Field(default=None, min_length=1, max_length=40)
    address: str = Field(default="", max_length=300)
    location: Location | None = None
    grade: Grade | None = None
    urgent: bool = False


class CasePublic(BaseModel):
    id: int
    number: str
    kind: CaseKind
    state: CaseState
    title: str
    description: str
    category_code: str | None
    grid_code: str | None
    street_code: str | None
    community_code: str | None
    address: str
    location: Location | None
    unit_code: str | None
    grade: Grade | None
    urgent: bool
    reporter_id: int | None
    reported_at: LocalTime
    dispatched_at: LocalTime | None
    sign_due_at: LocalTime | None
    signed_at: LocalTime | None
    due_at: LocalTime | None
    due_estimated: bool
    deadline_version: int
    verify_due_at: LocalTime | None
    closed_at: LocalTime | None
    listed: bool
    rework_count: int
    merged_into_id: int | None
    enterprise_code: str | None = None
    inspection_id: int | None = None
    version: int
    allowed_actions: list[str]


class ActionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    version: DbInt | None = None
    unit_code: str | None = Field(default=None, max_length=40)
    due_at: datetime | None = None
    limit_days: int | None = Field(default=None, ge=1, le=365)
    days: int | None = Field(default=None, ge=1, le=365)
    attachment_ids: list[DbInt] | None = Field(default=None, max_length=50)
    target_case_id: DbInt | None = None
    # follow_up (回访): satisfied | basically_satisfied | unsatisfied (checked by Needs.satisfaction)
    satisfaction: str | None = Field(default=None, max_length=40)
    # A return reason's code (退单原因, the admin's list: GET /api/v1/return-reasons).
    reason_code: str | None = Field(default=None, max_length=40)
    # Co-handling (主办/协办): the assisting units of a dispatch, beside the lead unit.
    assist_unit_codes: list[str] | None = Field(default=None, max_length=20)


class CaseRequest(SQLModel, table=True):
    """A handler's request for an extension (延期) or a suspension (挂起), and its decision."""

    __tablename__ = "case_request"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    type: RequestType = Field(sa_column=Column(String(12), nullable=False))
    status: RequestStatus = Field(sa_column=Column(String(12), nullable=False))
    days: int | None = None
    reason: str = Field(max_length=2000)
    requested_by: int = Field(foreign_key="user.id")
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = Field(default=None, max_length=2000)


class CasePage(BaseModel):
    items: list[CasePublic]
    total: int
    page: int
    page_size: int


def location_of(lat: float | None, lon: float | None) -> dict[str, Any] | None:
    if lat is None or lon is None:
        return None
    return {"lat": lat, "lon": lon}
