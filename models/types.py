"""Column types: every timestamp is stored in UTC and comes back timezone-aware."""

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field, PlainSerializer
from sqlalchemy import DateTime, TypeDecorator


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
