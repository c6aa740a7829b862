"""Domain errors carry their HTTP status; one handler in the API renders them as problem+json.

The message is a `Msg(zh, en)`: the API shows both languages in `detail` ("中文 / English"),
a page shows the reader's (`exc.msg.render(lang)`).
"""

from typing import Any

from closeloop.text import Msg


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, msg: Msg, *, keep_changes: bool = False, **extra: Any) -> None:
        if not isinstance(msg, Msg):
            raise TypeError(f"{type(self).__name__} takes a Msg(zh, en), not {msg!r}")
        super().__init__(msg)
        self.msg = msg
        self.detail = msg.both()  # "中文 / English": the API's problem detail, the command line
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
