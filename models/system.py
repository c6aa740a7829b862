"""Small system tables: calendar overrides, named counters, and persisted settings."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class CalendarOverride(SQLModel, table=True):
    __tablename__ = "calendar_override"
    day: date = Field(primary_key=True)
    workday: bool
    note: str = Field(default="", max_length=200)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class CalendarOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    workday: bool
    note: str = Field(default="", max_length=200)


class Counter(SQLModel, table=True):
    """Gap-free numbering: one row per sequence name, incremented under a row lock."""

    name: str = Field(primary_key=True, max_length=100)
    value: int = 0


class AppSetting(SQLModel, table=True):
    __tablename__ = "app_setting"
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=4000)
