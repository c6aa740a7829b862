"""Return reasons (退单原因): the code list a unit chooses from when it returns a case or asks to;
the admin keeps it."""

from sqlmodel import Field, SQLModel


class ReturnReason(SQLModel, table=True):
    __tablename__ = "return_reason"
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)  # 非本单位职责
    name_en: str = Field(default="", max_length=100)  # not this unit's responsibility
    seq: int = 0  # order in the list
    active: bool = True
