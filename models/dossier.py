"""The major-hazard dossier (重大事故隐患挂牌督办): the 五到位 rectification plan, the
supervisor's re-inspection (复查) and the listing and delisting notices (挂牌 / 摘牌公告)."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import NoticeType, RecheckResult
from models.types import UTCDateTime


class HazardPlan(SQLModel, table=True):
    """A rectification plan with the five in place (五到位). A later plan supersedes an earlier
    one; none is edited or deleted."""

    __tablename__ = "hazard_plan"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    measures: str = Field(max_length=4000)  # 措施
    funds: str = Field(max_length=200)  # 资金, as stated ("50 万元")
    responsible: str = Field(max_length=100)  # 责任人
    deadline: date  # 时限
    emergency_plan: str = Field(max_length=4000)  # 应急预案
    submitted_by: int = Field(foreign_key="user.id")
    submitted_at: datetime = Field(sa_type=UTCDateTime)


class Recheck(SQLModel, table=True):
    """A supervisor's re-inspection (复查) of a rectified major hazard."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    result: RecheckResult = Field(sa_column=Column(String(4), nullable=False))
    note: str = Field(default="", max_length=2000)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    by: int = Field(foreign_key="user.id")
    at: datetime = Field(sa_type=UTCDateTime)


class Notice(SQLModel, table=True):
    """A public notice of listing or delisting a major hazard. It falls due when its event happens
    (the plan is in; the hazard is closed) and is numbered when published, within the limit."""

    __table_args__ = (UniqueConstraint("case_id", "type", name="uq_notice_case_type"),)
    id: int | None = Field(default=None, primary_key=True)
    type: NoticeType = Field(sa_column=Column(String(10), nullable=False))
    case_id: int = Field(foreign_key="case.id", index=True)
    number: str | None = Field(default=None, max_length=60, unique=True)  # 文号, once published
    year: int | None = None  # the numbering year, once published
    seq: int | None = None
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)  # publish by (5 working days)
    due_estimated: bool = False
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
