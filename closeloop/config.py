"""Settings, read from the environment (CLOSELOOP_*)."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
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
    # Follow-up (回访): a closed event is followed up within this many working days of closing.
    follow_up_days: int = 3
    scheduler: str = "on"
    # SQLite: how long a transaction waits for another writer's lock before giving up
    # ("database is locked", answered as 503: the database is unavailable).
    sqlite_busy_timeout_ms: int = 30000
    # The connection pool: a request waits at most this many seconds for a free connection,
    # then answers 503 (the pool is exhausted) instead of hanging. Size and overflow: empty
    # means SQLAlchemy's defaults (5 and 10).
    pool_timeout: float = 5.0
    pool_size: int | None = None
    max_overflow: int | None = None

    # Letters: the issuing body (发文机关), its short name for 文号, and the contact line
    # (e.g. "联系人：张三，电话：0755-12345678"); empty: letters print no contact line.
    issuer_name: str = "罗湖区应急管理局"
    issuer_short: str = "罗应急"
    issuer_contact: str = ""
    letter_reply_days: int = 3
    # Reports: extra email subscribers (comma-separated) besides the supervisors of the region.
    report_recipients: str = ""
    # Escalation policy file (TOML); empty: the default ladder of DESIGN.md.
    escalation_policy: str = ""
    # A run's `now` may be this many minutes ahead of the real clock (skew between machines);
    # later than that is refused unless it is a dry run: letters are never dated in the future.
    escalation_max_skew_minutes: int = 5
    # Ranking weights (综合指标), e.g. "on_time_closure_rate=40,closure_rate=30,no_rework=20,
    # sign_on_time_rate=10"; empty: DESIGN.md's defaults. Names left out keep their default.
    score_weights: str = ""
    # Ranking (排名): a group needs this many accepted cases (立案数) in the period to be ranked;
    # a ranked group other than the first is "behind" (排名靠后/建议约谈) when its score is below
    # this threshold or below the mean score of the ranked groups.
    rank_min_accepted: int = 10
    behind_score: float = 80.0

    # The risk register (风险分级管控): a risk report is reviewed within this many working days of
    # being reported; still pending this many working days after that, the district is told (督办).
    risk_review_days: int = 3
    risk_escalate_days: int = 3

    # Co-handling (主办/协办): an assisting unit's task is due this many working days after the
    # dispatch, never later than the case's own deadline.
    assist_days: int = 3

    # Notification delivery.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_tls: str = "none"  # none | starttls | ssl
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "closeloop@localhost"
    smtp_timeout_seconds: float = 10.0
    webhook_timeout_seconds: float = 10.0
    delivery_max_attempts: int = 6
    delivery_backoff_seconds: float = 60.0  # first retry; doubles each time
    delivery_claim_seconds: float = 120.0

    # The map (/map): a base-map tile URL (e.g. "https://webrd0{s}.is.autonavi.com/appmaptile?
    # style=8&x={x}&y={y}&z={z}", with CLOSELOOP_MAP_TILE_SUBDOMAINS=1234); empty: no tiles, the
    # grid polygons alone (works offline). Chinese base maps are drawn in GCJ-02: the layers are
    # then sent in GCJ-02; WGS-84 tiles (OpenStreetMap, Tianditu) get WGS-84.
    map_tile_url: str = ""
    map_tile_crs: Literal["gcj02", "wgs84"] = "gcj02"
    map_tile_subdomains: str = "abc"
    map_tile_attribution: str = ""

    # Group robots: the public address of these pages (e.g. "https://closeloop.example.gov.cn"),
    # for the link to the case page in a robot's message; empty: the message names the path.
    public_base_url: str = ""

    # Passwords a person chooses are hashed with argon2id at this cost (argon2-cffi's defaults,
    # RFC 9106's low-memory profile: 3 passes over 64 MiB, ~0.1 s). A hash keeps its own cost, so
    # changing these affects new passwords only. Less than OWASP's minimum (2 passes over 19 MiB)
    # is refused unless CLOSELOOP_ENVIRONMENT=test (test runs).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    # Observability (README "Observability"). Log lines: "text" (one readable line each, for a
    # terminal) or "json" (one JSON object a line, for a log shipper); both carry the request id.
    log_format: Literal["text", "json"] = "text"
    # GET /metrics: empty → answered to loopback clients only (a Prometheus on the same host);
    # set → answered to any client sending `Authorization: Bearer <this token>`.
    metrics_token: str = ""
    # Health (GET /metrics, `closeloop status`): unhealthy when the oldest undelivered outbox
    # message is older than this (0: never on that ground).
    health_outbox_max_age_minutes: int = 120

    @field_validator("issuer_contact")
    @classmethod
    def _no_placeholder_phone(cls, value: str) -> str:
        if re.search(r"0{7,}", value):
            raise ValueError(
                "CLOSELOOP_ISSUER_CONTACT holds a placeholder number; set the real contact line "
                "or leave it empty (letters then print none)"
            )
        return value.strip()

    @field_validator("data_dir")
    @classmethod
    def _data_dir_absolute(cls, value: Path) -> Path:
        # Resolved once, when the settings are read at start-up: a later change of the working
        # directory (a Prefect flow run's) never changes where files go.
        return value.expanduser().absolute()

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("CLOSELOOP_SECRET_KEY is a placeholder; set a long random value")
        if value and len(value) < 32:
            raise ValueError("CLOSELOOP_SECRET_KEY must be at least 32 characters")
        return value

    @model_validator(mode="after")
    def _password_cost(self) -> "Settings":
        if self.argon2_time_cost < 1 or self.argon2_memory_kib < 1024:
            raise ValueError(
                "CLOSELOOP_ARGON2_TIME_COST must be at least 1 and CLOSELOOP_ARGON2_MEMORY_KIB "
                "at least 1024"
            )
        weak = self.argon2_time_cost < 2 or self.argon2_memory_kib < 19456
        if weak and self.environment != "test":
            raise ValueError(
                "CLOSELOOP_ARGON2_TIME_COST / CLOSELOOP_ARGON2_MEMORY_KIB are below OWASP's "
                "minimum (2 passes, 19456 KiB); only test runs (CLOSELOOP_ENVIRONMENT=test) may "
                "go lower"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
