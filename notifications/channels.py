"""Channels: send one outbox message by email (SMTP) or webhook (a group robot: notifications.robots
gives each kind its own format, signature and reading of the answer; a plain webhook the body below).

Each sender returns when the receiver has accepted the message and raises `SendError` with a short
reason otherwise. `SendError.permanent` marks a refusal that retrying cannot fix (an SMTP 5xx for
the recipient, an HTTP 4xx other than 408/429); the delivery job gives up on those at once.

Every message carries its idempotency key where the receiver sees it: the email's Message-ID is
derived from the key and the key itself is in the X-Closeloop-Idempotency-Key header; a webhook
POST has the same header and the key under "closeloop" in the JSON body. A message sent again after
a crash between sending and marking carries the same key, so the receiver can drop the repeat.
"""

import functools
import hashlib
import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from closeloop.config import Settings
from models.enums import WebhookKind
from models.outbox import OutboxMessage
from notifications import robots

IDEMPOTENCY_HEADER = "X-Closeloop-Idempotency-Key"
# WeCom takes at most 2048 bytes of text content (DingTalk more); the full text is under "closeloop".
ROBOT_TEXT_BYTES = 2000


class SendError(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:2000]
        self.permanent = permanent


def message_id(key: str, sender: str) -> str:
    """A Message-ID that depends only on the key (and the sender's domain): stable across re-sends."""
    domain = sender.rpartition("@")[2] or "closeloop"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build_email(msg: OutboxMessage, settings: Settings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = msg.recipient
    email["Subject"] = " ".join(msg.subject.split())  # a header holds no line breaks
    email["Message-ID"] = message_id(msg.key, settings.smtp_from)
    email["Date"] = formatdate(msg.created_at.timestamp(), localtime=False, usegmt=True)
    email[IDEMPOTENCY_HEADER] = msg.key
    email.set_content(msg.body)
    return email


def send_email(msg: OutboxMessage, settings: Settings) -> None:
    if not settings.smtp_host:
        raise SendError("未配置邮件服务器 / SMTP not configured: set CLOSELOOP_SMTP_HOST")
    mode = settings.smtp_tls.lower()
    if mode not in ("none", "starttls", "ssl"):
        raise SendError(f"smtp_tls must be none, starttls or ssl, not {settings.smtp_tls!r}")
    email = build_email(msg, settings)
    timeout = settings.smtp_timeout_seconds
    try:
        smtp: smtplib.SMTP
        if mode == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout, context=_smtp_tls()
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with smtp:
            if mode == "starttls":
                smtp.starttls(context=_smtp_tls())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(
                email, from_addr=settings.smtp_from, to_addrs=[msg.recipient]
            )
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (0, b""))
        raise _smtp_error("recipient refused", code, text) from None
    except smtplib.SMTPResponseException as exc:
        raise _smtp_error("SMTP error", exc.smtp_code, exc.smtp_error) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {type(exc).__name__}: {exc}") from None
    if refused:  # only possible with several recipients; kept for safety
        raise SendError(f"recipient refused: {refused}")


def _smtp_error(what: str, code: int, text: bytes | str) -> SendError:
    detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return SendError(f"SMTP {what}: {code} {detail}", permanent=500 <= code < 600)


def _clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, marked with an ellipsis."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def webhook_body(msg: OutboxMessage) -> dict[str, Any]:
    """A text message both WeCom and DingTalk group robots accept, with our fields beside it."""
    return {
        "msgtype": "text",
        "text": {"content": _clip(f"{msg.subject}\n{msg.body}", ROBOT_TEXT_BYTES)},
        "closeloop": {
            "idempotency_key": msg.key,
            "event": msg.event,
            "case_id": msg.case_id,
            "case_number": msg.payload.get("case_number"),
            "letter_id": msg.letter_id,
            "subject": msg.subject,
            "body": msg.body,
            "payload": msg.payload,
        },
    }


# A TLS context reads and parses the trusted certificates: 40-50 ms of CPU each time it is built.
# One of each per process, shared by every connection (an SSLContext is safe to share between
# threads once set up): before, an email sent over TLS built one per message and every delivery
# run one for its webhooks. The certificates are read at the first message (README "Channels":
# restart after changing them).
@functools.cache
def _smtp_tls() -> ssl.SSLContext:
    """The system's trusted certificates, as smtplib uses them."""
    return ssl.create_default_context()


@functools.cache
def _webhook_tls() -> ssl.SSLContext:
    """The trusted certificates as httpx picks them (SSL_CERT_FILE or SSL_CERT_DIR when set,
    else certifi's)."""
    return httpx.create_ssl_context()


def http_client(settings: Settings) -> httpx.Client:
    """One client per delivery run, its connections kept for the run's messages."""
    return httpx.Client(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, verify=_webhook_tls()
    )


def send_webhook(
    msg: OutboxMessage,
    settings: Settings,
    client: httpx.Client | None = None,
    robot: robots.Robot | None = None,
) -> None:
    """Post the message: a robot's own markdown (signed when it has a secret), or the generic
    body to a plain webhook (also when `robot` is not known)."""
    kind = robot.kind if robot is not None else WebhookKind.generic
    url, payload = msg.recipient, webhook_body(msg)
    if robot is not None and kind != WebhookKind.generic:
        url, payload = robots.signed(url, robots.body(msg, robot, settings), robot)
    content = json.dumps(payload, ensure_ascii=False, default=str).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: msg.key}
    try:
        if client is None:
            with http_client(settings) as own:
                response = own.post(url, content=content, headers=headers)
        else:
            response = client.post(url, content=content, headers=headers)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        # The stored address can never work: fix the unit's webhook_url (new messages use it).
        raise SendError(f"webhook address {type(exc).__name__}: {exc}", permanent=True) from None
    except httpx.HTTPError as exc:
        raise SendError(f"webhook {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if kind != WebhookKind.generic:  # a robot's code says more than its HTTP status
        refusal = robots.refused(kind, response)
        if refusal is not None:
            raise SendError(refusal[0], permanent=refusal[1])
    if not 200 <= status < 300:
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        raise SendError(f"webhook HTTP {status}: {response.text[:300]}", permanent=permanent)
    # The robots answer 200 with {"errcode": 0, "errmsg": "ok"}; any other errcode is a refusal
    # (bad key, keyword or signature check, rate limit), worth retrying after a fix.
    try:
        answer = response.json()
    except ValueError:
        return
    if kind != WebhookKind.generic:
        return
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise SendError(f"webhook errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def send(
    msg: OutboxMessage,
    settings: Settings,
    client: httpx.Client | None = None,
    robot: robots.Robot | None = None,
) -> None:
    if msg.channel == "email":
        send_email(msg, settings)
    elif msg.channel == "webhook":
        send_webhook(msg, settings, client, robot)
    else:  # in-app messages are delivered when stored
        return
