"""The enterprise and place register (一企一档): who a hazard, an inspection or a risk point
belongs to."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from pydantic import Field as PydField
from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.enums import EnterpriseKind, RiskLevel
from models.org import CODE_PATTERN, PatchBody
from models.types import LocalTime, UTCDateTime, path_index


class Enterprise(SQLModel, table=True):
    __table_args__ = (path_index("enterprise", "region_path"),)
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    kind: EnterpriseKind = Field(sa_column=Column(String(12), nullable=False))
    # 统一社会信用代码 (GB 32100): 18 characters, the last a check character. Places have none.
    credit_code: str | None = Field(default=None, max_length=18, unique=True)
    address: str = Field(default="", max_length=300)
    grid_code: str = Field(foreign_key="region.code", max_length=40, index=True)
    # Denormalised from the grid, like a case's, so jurisdiction and figures need no join.
    street_code: str | None = Field(default=None, max_length=40, index=True)
    community_code: str | None = Field(default=None, max_length=40)
    region_path: str = Field(default="/", max_length=400)
    industry: str = Field(default="", max_length=60, index=True)
    scale: str = Field(default="", max_length=30)  # 规模: 规上 / 规下 / 小微 …
    risk_level: RiskLevel | None = Field(default=None, sa_column=Column(String(12)))
    contact_name: str = Field(default="", max_length=60)  # the responsible person (责任人)
    contact_phone: str = Field(default="", max_length=30)
    lat: float | None = None  # WGS-84
    lon: float | None = None
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# --- the API's bodies ------------------------------------------------------------------------

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Text60 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)]
Text30 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)]
# Checked by closeloop.safety (GB 32100); the length here only stops an absurd input.
CreditCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=40)]
Lat = Annotated[float, PydField(ge=-90, le=90)]
Lon = Annotated[float, PydField(ge=-180, le=180)]


class EnterpriseCreate(BaseModel):
    """A new enterprise or place (also one row of an import file: the same columns)."""

    model_config = ConfigDict(extra="forbid")
    code: str = PydField(min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str = PydField(min_length=1, max_length=200)
    kind: EnterpriseKind = EnterpriseKind.enterprise
    credit_code: CreditCode | None = None
    address: Text300 = ""
    grid_code: str = PydField(min_length=1, max_length=40)
    industry: Text60 = ""
    scale: Text30 = ""
    risk_level: RiskLevel | None = None
    contact_name: Text60 = ""
    contact_phone: Text30 = ""
    lat: Lat | None = None
    lon: Lon | None = None

    @field_validator("code", "name", "grid_code", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("credit_code", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class EnterpriseUpdate(PatchBody):
    """PATCH: the fields sent change (null clears a nullable one); the code never changes."""

    REQUIRED = frozenset({"name", "kind", "grid_code", "active"})
    name: str | None = PydField(default=None, min_length=1, max_length=200)
    kind: EnterpriseKind | None = None
    credit_code: CreditCode | None = None
    address: Text300 | None = None
    grid_code: str | None = PydField(default=None, min_length=1, max_length=40)
    industry: Text60 | None = None
    scale: Text30 | None = None
    risk_level: RiskLevel | None = None
    contact_name: Text60 | None = None
    contact_phone: Text30 | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    active: bool | None = None

    @field_validator("credit_code", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class EnterprisePublic(BaseModel):
    code: str
    name: str
    kind: EnterpriseKind
    credit_code: str | None
    address: str
    grid_code: str
    street_code: str | None
    community_code: str | None
    industry: str
    scale: str
    risk_level: RiskLevel | None
    contact_name: str
    contact_phone: str
    lat: float | None
    lon: float | None
    active: bool
    created_at: LocalTime
    updated_at: LocalTime


class EnterprisePage(BaseModel):
    items: list[EnterprisePublic]
    total: int
    page: int
    page_size: int
