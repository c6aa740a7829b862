"""Domain errors carry their HTTP status; one handler in the API renders them as problem+json."""

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str, *, keep_changes: bool = False, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        # Commit what the failing request wrote anyway (a failed login is recorded for throttling).
        self.keep_changes = keep_changes


class Unauthorized(DomainError):
    status = 401
    title = "Not authenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Invalid(DomainError):
    status = 422
    title = "Unprocessable entity"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"
