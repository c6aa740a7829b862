"""Checklist sets (检查表) and the inspections (检查) recorded against them."""

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import Grade, ItemResult
from models.types import LocalTime, UTCDateTime, path_index


class Checklist(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    industry: str = Field(default="", max_length=60, index=True)  # "" = every industry
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class ChecklistItem(SQLModel, table=True):
    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("checklist_code", "code", name="uq_checklist_item"),)
    id: int | None = Field(default=None, primary_key=True)
    checklist_code: str = Field(foreign_key="checklist.code", max_length=40, index=True)
    code: str = Field(max_length=40)
    seq: int = 0  # the order items are shown in
    text: str = Field(max_length=1000)
    basis: str = Field(default="", max_length=1000)  # the rule it checks (依据), e.g. a GB clause
    # A failed item is filed as a hazard in this category (routing, limits); None: the checklist's
    # default, as the inspections service decides.
    category_code: str | None = Field(default=None, foreign_key="category.code", max_length=40)


class Inspection(SQLModel, table=True):
    __table_args__ = (path_index("inspection", "region_path"),)
    id: int | None = Field(default=None, primary_key=True)
    enterprise_code: str = Field(foreign_key="enterprise.code", max_length=40, index=True)
    checklist_code: str = Field(foreign_key="checklist.code", max_length=40)
    at: datetime = Field(sa_type=UTCDateTime, index=True)  # when the inspection took place
    inspector_id: int = Field(foreign_key="user.id", index=True)
    unannounced: bool = False  # 四不两直
    note: str = Field(default="", max_length=2000)
    # Copied from the enterprise at the time, so figures by street and industry need no join and
    # do not move when the enterprise does.
    grid_code: str = Field(max_length=40)
    street_code: str | None = Field(default=None, max_length=40, index=True)
    region_path: str = Field(default="/", max_length=400)
    industry: str = Field(default="", max_length=60)
    hazards_found: int = 0  # failed items, each filed as a hazard case
    created_at: datetime = Field(sa_type=UTCDateTime)


class InspectionItem(SQLModel, table=True):
    __tablename__ = "inspection_item"
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    item_code: str = Field(max_length=40)
    result: ItemResult = Field(sa_column=Column(String(4), nullable=False))
    note: str = Field(default="", max_length=2000)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)  # a failed item's

    def data(self) -> dict[str, Any]:
        return {"item_code": self.item_code, "result": self.result, "note": self.note}


# --- API schemas -------------------------------------------------------------------------------

CODE = r"^[A-Za-z0-9_.-]{1,40}$"


class ChecklistItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = PField(pattern=CODE)
    text: str = PField(min_length=1, max_length=1000)
    basis: str = PField(default="", max_length=1000)
    # The leaf category its hazard is filed under; else the set's `category_code`.
    category_code: str | None = PField(default=None, min_length=1, max_length=40)


class ChecklistCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = PField(pattern=CODE)
    name: str = PField(min_length=1, max_length=200)
    industry: str = PField(default="", max_length=60)
    category_code: str | None = PField(default=None, min_length=1, max_length=40)
    items: list[ChecklistItemIn] = PField(min_length=1, max_length=200)


class ChecklistUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = PField(default=None, min_length=1, max_length=200)
    industry: str | None = PField(default=None, max_length=60)
    active: bool | None = None
    category_code: str | None = PField(default=None, min_length=1, max_length=40)
    items: list[ChecklistItemIn] | None = PField(default=None, min_length=1, max_length=200)


class ChecklistItemPublic(BaseModel):
    code: str
    seq: int
    text: str
    basis: str
    category_code: str | None


class ChecklistPublic(BaseModel):
    code: str
    name: str
    industry: str
    active: bool
    used: bool  # an inspection was recorded against it: its items can no longer change
    items: list[ChecklistItemPublic]


class ItemAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = PField(min_length=1, max_length=40)
    result: ItemResult
    note: str = PField(default="", max_length=2000)
    # A failed item's hazard: its grade (default general) and photos the inspector uploaded.
    grade: Grade | None = None
    attachment_ids: list[int] = PField(default_factory=list, max_length=20)


class InspectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enterprise_code: str = PField(min_length=1, max_length=40)
    checklist_code: str = PField(min_length=1, max_length=40)
    at: AwareDatetime
    unannounced: bool = False
    note: str = PField(default="", max_length=2000)
    items: list[ItemAnswer] = PField(min_length=1, max_length=200)


class InspectionItemPublic(BaseModel):
    item_code: str
    text: str
    basis: str
    result: ItemResult
    note: str
    attachment_ids: list[int]
    case_id: int | None
    case_number: str | None


class InspectionPublic(BaseModel):
    id: int
    enterprise_code: str
    enterprise_name: str
    checklist_code: str
    checklist_name: str
    at: LocalTime
    inspector_id: int
    inspector: str
    unannounced: bool
    note: str
    grid_code: str
    street_code: str | None
    industry: str
    hazards_found: int
    hazard_case_ids: list[int]
    items: list[InspectionItemPublic] | None = None  # the detail only


class FigureRow(BaseModel):
    key: str | None  # the street code or the industry; None: the total
    name: str
    inspections: int
    enterprises: int  # distinct enterprises and places inspected
    unannounced: int  # 四不两直
    hazards_found: int
    hazards_per_inspection: float | None


class InspectionFigures(BaseModel):
    date_from: date
    date_to: date
    group_by: str
    region_code: str | None
    rows: list[FigureRow]
    total: FigureRow
