"""Users, their jurisdiction, and the records behind login throttling and token revocation."""

from datetime import datetime
from typing import Any

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from models.enums import Role
from models.org import PatchBody, robot_public
from models.types import UTCDateTime


class UserBase(SQLModel):
    username: str = Field(
        min_length=1, max_length=64, schema_extra={"pattern": r"^[A-Za-z0-9_.@-]+$"}
    )
    display_name: str = Field(min_length=1, max_length=100)
    role: Role
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=40)
    region_code: str | None = Field(default=None, foreign_key="region.code", max_length=40)
    email: str | None = Field(default=None, max_length=200)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str = Field(max_length=200)
    active: bool = True
    # Bumped to revoke every token the user holds (password change, deactivation).
    token_generation: int = 0
    # Set when an admin resets the password to a one-time password: the user must choose their own
    # at the next login before doing anything else.
    must_change_password: bool = False
    # A personal group robot (WeCom/DingTalk/Feishu) or plain webhook for the user's notices.
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=200)
    # A personal group robot for the user's notices (see UnitCreate: the secret is write-only).
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)


class UserUpdate(PatchBody):
    REQUIRED = frozenset({"display_name", "role", "active", "password"})
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    unit_code: str | None = Field(default=None, max_length=40)
    region_code: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_kind: str | None = Field(default=None, max_length=10)
    webhook_secret: str | None = Field(default=None, max_length=200)


class UserPublic(UserBase):
    id: int
    active: bool
    must_change_password: bool = False
    webhook_url: str | None = None
    webhook_kind: str | None = None
    webhook_secret_set: bool = False  # the secret itself is write-only

    @model_validator(mode="before")
    @classmethod
    def _secret_set(cls, data: Any) -> Any:
        return robot_public(data)


class RevokedToken(SQLModel, table=True):
    __tablename__ = "revoked_token"
    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
