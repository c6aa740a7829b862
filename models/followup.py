"""Follow-up (回访): a closed event asked after, by the grid worker who filed it on site or by the
desk, with the reporter's satisfaction. An unsatisfied answer reopens the case as 重办."""

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.enums import FollowUpChannel, Satisfaction
from models.types import UTCDateTime


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    satisfaction: Satisfaction = Field(sa_column=Column(String(20), nullable=False))
    channel: FollowUpChannel = Field(sa_column=Column(String(10), nullable=False))
    note: str = Field(default="", max_length=2000)
    by_id: int = Field(foreign_key="user.id")
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    closed_at: datetime = Field(sa_type=UTCDateTime)  # the closure it follows up
