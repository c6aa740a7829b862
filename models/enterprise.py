"""The enterprise and place register (一企一档): who a hazard, an inspection or a risk point
belongs to."""

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.enums import EnterpriseKind, RiskLevel
from models.types import UTCDateTime


class Enterprise(SQLModel, table=True):
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
    region_path: str = Field(default="/", max_length=400, index=True)
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
