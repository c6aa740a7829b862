"""The organisation: the region tree, the rectifying units and the category tree."""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlmodel import Field, SQLModel

from models.enums import RegionLevel
from models.types import path_index

CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"


class PatchBody(BaseModel):
    """A PATCH body: every field optional, unknown fields refused; a field listed in `REQUIRED`
    may be left out but not set to null (a name cannot be erased). Services apply
    `model_dump(exclude_unset=True)`, so an explicit null clears a nullable field."""

    model_config = ConfigDict(extra="forbid")
    REQUIRED: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in cls.REQUIRED:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} cannot be null")
        return data


class RegionBase(SQLModel):
    code: str = Field(primary_key=True, max_length=40, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=100)
    level: RegionLevel
    parent_code: str | None = Field(default=None, foreign_key="region.code", max_length=40)


class Region(RegionBase, table=True):
    __table_args__ = (path_index("region", "path"),)
    # A deactivated region takes no new cases; its cases and history stay.
    active: bool = True
    # Materialised path of codes, "/district/street/community/grid/": a subtree is a prefix match.
    path: str = Field(max_length=400)


class RegionCreate(RegionBase):
    pass


class RegionUpdate(PatchBody):
    REQUIRED = frozenset({"name", "level", "active"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    level: RegionLevel | None = None
    parent_code: str | None = Field(default=None, max_length=40)
    active: bool | None = None


class RegionPublic(RegionBase):
    path: str
    active: bool


class RegionNode(RegionPublic):
    """A region in the tree as the admin sees it: its depth (0 for a district) and counts over
    its whole subtree."""

    depth: int
    children: int  # direct children, active or not
    cases: int  # every case filed in the subtree
    open_cases: int  # of those, the ones still open (reported … verifying)


class UnitBase(SQLModel):
    code: str = Field(primary_key=True, max_length=40, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=100)
    # Short name used in letter numbers, e.g. 住建 in 罗应急督〔2025〕12号 addressed to 住建局.
    short_name: str = Field(min_length=1, max_length=20)
    # Where notifications and letters for the unit go (all optional; in-app always works).
    email: str | None = Field(default=None, max_length=200)
    head_email: str | None = Field(default=None, max_length=200)  # the head, for 警示函
    webhook_url: str | None = Field(default=None, max_length=500)  # WeCom/DingTalk group robot
    # The district the unit serves; None: every district (units made before districts had units).
    region_code: str | None = Field(
        default=None, foreign_key="region.code", max_length=40, index=True
    )


class Unit(UnitBase, table=True):
    # Which group robot webhook_url is (message format, signing, rate limit), and DingTalk's
    # signing secret (加签).
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)
    active: bool = True  # a deactivated unit is offered for no new dispatch


class UnitCreate(UnitBase):
    # The robot's kind (wecom|dingtalk|feishu|generic; inferred from the URL when left out) and
    # its signing secret (DingTalk, Feishu): write-only, never shown.
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)


class UnitUpdate(PatchBody):
    REQUIRED = frozenset({"name", "short_name", "active"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    short_name: str | None = Field(default=None, min_length=1, max_length=20)
    email: str | None = Field(default=None, max_length=200)
    head_email: str | None = Field(default=None, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=500)
    region_code: str | None = Field(default=None, max_length=40)
    active: bool | None = None
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)


def robot_public(data: Any) -> Any:
    """A Public schema's input with `webhook_secret_set` instead of the secret itself."""
    if isinstance(data, dict):
        return {**data, "webhook_secret_set": bool(data.get("webhook_secret"))}
    if hasattr(data, "webhook_secret"):
        fields = {name: getattr(data, name) for name in type(data).model_fields}
        return {**fields, "webhook_secret_set": bool(data.webhook_secret)}
    return data


class UnitPublic(UnitBase):
    active: bool
    webhook_kind: str | None = None
    webhook_secret_set: bool = False  # the secret itself is write-only

    @model_validator(mode="before")
    @classmethod
    def _secret_set(cls, data: Any) -> Any:
        return robot_public(data)


class CategoryBase(SQLModel):
    code: str = Field(primary_key=True, max_length=40, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=100)
    parent_code: str | None = Field(default=None, foreign_key="category.code", max_length=40)
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=40)
    limit_days: int | None = Field(default=None, ge=1, le=365)
    sign_hours: float | None = Field(default=None, gt=0, le=240)


class Category(CategoryBase, table=True):
    active: bool = True  # a deactivated category takes no new cases
    # An emergency category (紧急类): its events reach the region's supervisors and the
    # district's leadership at once, on every channel.
    emergency: bool = False


class CategoryCreate(CategoryBase):
    emergency: bool = False  # 紧急类: its events alert the leadership at once (cases/emergency.py)

    @field_validator("code", "name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class CategoryUpdate(PatchBody):
    REQUIRED = frozenset({"name", "active"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    parent_code: str | None = Field(default=None, max_length=40)
    unit_code: str | None = Field(default=None, max_length=40)
    limit_days: int | None = Field(default=None, ge=1, le=365)
    sign_hours: float | None = Field(default=None, gt=0, le=240)
    active: bool | None = None
    emergency: bool | None = None  # 紧急类; may be left out, not set to null

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("emergency")
    @classmethod
    def _emergency_not_null(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("emergency cannot be null")
        return value


class CategoryPublic(CategoryBase):
    is_leaf: bool = True
    active: bool = True
    emergency: bool = False
