"""Settings, read from the environment (CLOSELOOP_*)."""

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "closeloop"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOSELOOP_", extra="ignore")

    database_url: str = "sqlite:///./closeloop.db"
    # Empty: a random key is generated once and kept in the database (app_setting).
    secret_key: str = ""
    environment: str = "development"
    token_minutes: int = 480
    data_dir: Path = Path("./data")
    max_upload_bytes: int = 20 * 1024 * 1024
    max_import_bytes: int = 200 * 1024 * 1024
    upload_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "application/pdf",
    )
    login_max_failures: int = 5
    login_window_minutes: int = 15
    timezone: str = "Asia/Shanghai"
    # Working hours for limits counted in hours (signing): working days, this local window.
    work_start: str = "09:00"
    work_end: str = "18:00"
    default_sign_hours: float = 2.0
    urgent_sign_minutes: int = 30
    default_limit_days: int = 5
    verify_days: int = 3
    reopen_window_days: int = 30
    scheduler: str = "on"

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("CLOSELOOP_SECRET_KEY is a placeholder; set a long random value")
        if value and len(value) < 32:
            raise ValueError("CLOSELOOP_SECRET_KEY must be at least 32 characters")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
