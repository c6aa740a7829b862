"""Return reasons (退单原因): the code list a unit chooses from when it returns a case or asks to;
the admin keeps it."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from models.org import CODE_PATTERN, PatchBody


class ReturnReason(SQLModel, table=True):
    __tablename__ = "return_reason"
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)  # 非本单位职责
    name_en: str = Field(default="", max_length=100)  # not this unit's responsibility
    seq: int = 0  # order in the list
    active: bool = True


class ReturnReasonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = PydanticField(min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str = PydanticField(min_length=1, max_length=100)
    name_en: str = PydanticField(default="", max_length=100)
    seq: int = PydanticField(default=0, ge=0, le=10_000)


class ReturnReasonUpdate(PatchBody):
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"name", "name_en", "seq", "active"})
    name: str | None = PydanticField(default=None, min_length=1, max_length=100)
    name_en: str | None = PydanticField(default=None, max_length=100)
    seq: int | None = PydanticField(default=None, ge=0, le=10_000)
    active: bool | None = None


class ReturnReasonPublic(BaseModel):
    code: str
    name: str
    name_en: str
    seq: int
    active: bool
