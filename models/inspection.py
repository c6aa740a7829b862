"""Checklist sets (检查表) and the inspections (检查) recorded against them."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import ItemResult
from models.types import UTCDateTime


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
    region_path: str = Field(default="/", max_length=400, index=True)
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
