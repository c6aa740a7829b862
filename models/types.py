"""Column types: every timestamp is stored in UTC and comes back timezone-aware."""

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, PlainSerializer
from sqlalchemy import DateTime, Index, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_iso(value: datetime) -> str:
    """A timestamp as the API shows it (LocalTime's serializer; a list page calls it too)."""
    return value.astimezone(SHANGHAI).isoformat()


# A timestamp as the API shows it: ISO 8601 in Asia/Shanghai with its offset (+08:00).
LocalTime = Annotated[datetime, PlainSerializer(local_iso, return_type=str)]

# An id or counter as the API accepts it: within a 32-bit signed integer, so no input can overflow
# a database column.
DbInt = Annotated[int, Field(ge=0, le=2_147_483_647)]


def path_index(table: str, column: str) -> Index:
    """The index of a materialised region path, which every jurisdiction and region filter reads
    as a prefix (`LIKE '/D0/S3/%'`). On PostgreSQL it uses the pattern operator class: in a
    database whose collation is not "C" (C.UTF-8, en_US.UTF-8, zh_CN.UTF-8 …) a plain index cannot
    serve a prefix LIKE, and the planner reads the whole index instead of the subtree (0016_prefix)."""
    return Index(f"ix_{table}_{column}", column, postgresql_ops={column: "varchar_pattern_ops"})
