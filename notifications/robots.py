"""Group robots as they are: WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书) each get their
own markdown message, their own signature and their own reading of the answer.

The robots answer HTTP 200 with a code in the JSON body (WeCom and DingTalk `errcode`, Feishu
`code` or the older `StatusCode`); a non-zero code is a refusal. The known codes are told in
words (`CODES`): a bad key, token or signature is permanent (retrying cannot fix it: fix the
robot's settings), a rate-limit answer is retried later. A plain (generic) webhook gets the JSON
body it always had (channels.webhook_body) and any errcode is retried, as before.

Formats, signatures and codes as the robots' documentation gives them (WeCom 群机器人配置说明,
DingTalk 自定义机器人接入, Feishu 自定义机器人使用指南)."""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote_plus

from closeloop import text
from closeloop.config import Settings
from closeloop.org.service import infer_kind
from closeloop.text import Msg
from models.enums import WebhookKind
from models.outbox import OutboxMessage

# Messages a robot takes per WINDOW (WeCom and DingTalk 20 a minute, Feishu 100; a plain webhook
# has no limit): over it, the waiting messages are folded into one digest (notifications.folding).
LIMITS: dict[WebhookKind, int | None] = {
    WebhookKind.wecom: 20,
    WebhookKind.dingtalk: 20,
    WebhookKind.feishu: 100,
    WebhookKind.generic: None,
}
WINDOW = timedelta(seconds=60)
# WeCom takes 4096 bytes of markdown, DingTalk and Feishu more: one cut for all.
MARKDOWN_BYTES = 4000

# (kind, code) → the words, and whether it is permanent (True) or worth retrying (False).
CODES: dict[tuple[WebhookKind, int], tuple[Msg, bool]] = {
    (WebhookKind.wecom, 93000): (
        Msg("机器人 webhook key 无效或已删除", "invalid webhook key (robot removed?)"),
        True,
    ),
    (WebhookKind.wecom, 45009): (
        Msg("发送太频繁，超过每分钟 20 条的限制", "rate limit: over 20 messages a minute"),
        False,
    ),
    (WebhookKind.wecom, 40008): (Msg("消息类型无效", "invalid message type"), True),
    (WebhookKind.dingtalk, 310000): (
        Msg(
            "安全设置校验失败（签名、关键词或 IP 白名单）",
            "security check failed (signature, keyword or IP allow-list)",
        ),
        True,
    ),
    (WebhookKind.dingtalk, 130101): (
        Msg("发送太快，超过每分钟 20 条，限流 10 分钟", "sending too fast: over 20 a minute"),
        False,
    ),
    (WebhookKind.dingtalk, 300001): (
        Msg("access_token 无效", "invalid access_token"),
        True,
    ),
    (WebhookKind.feishu, 19021): (
        Msg("签名校验失败或时间戳超过一小时", "signature check failed (or timestamp too old)"),
        True,
    ),
    (WebhookKind.feishu, 19022): (Msg("IP 不在白名单内", "IP address not allowed"), True),
    (WebhookKind.feishu, 19024): (
        Msg("消息不含机器人设置的关键词", "keyword check failed"),
        True,
    ),
    (WebhookKind.feishu, 9499): (Msg("请求格式错误", "bad request"), True),
    (WebhookKind.feishu, 11232): (
        Msg("发送频率受限", "frequency limited"),
        False,
    ),
}
UNKNOWN = Msg("未知错误码", "unknown error code")


@dataclass
class Robot:
    """How to send one message: the robot's kind and secret (looked up by URL when it is sent)
    and the case facts its markdown shows (number, title, unit, deadline; empty without a case)."""

    kind: WebhookKind = WebhookKind.generic
    secret: str | None = None
    facts: dict[str, str] = field(default_factory=dict)


def kind_of(stored: str | None, url: str) -> WebhookKind:
    """The kind stored for the robot, or the URL's (rows made before kinds were kept)."""
    try:
        return WebhookKind(stored) if stored else infer_kind(url)
    except ValueError:
        return infer_kind(url)


def case_link(case_id: int | None, settings: Settings) -> str | None:
    if case_id is None:
        return None
    return f"{settings.public_base_url.rstrip('/')}/cases/{case_id}"


def _clip(value: str, limit: int) -> str:
    data = value.encode()
    return value if len(data) <= limit else data[: limit - 3].decode(errors="ignore") + "…"


def _link(label: str, href: str | None) -> str:
    if not href:
        return ""
    return f"[{label}]({href})" if href.startswith("http") else f"{label}：{href}"


def lines(msg: OutboxMessage, robot: Robot, settings: Settings) -> tuple[str, list[str]]:
    """The title and the markdown lines of a message (a digest lists what it folds)."""
    title = " ".join(msg.subject.split())
    digest = msg.payload.get("digest")
    out: list[str] = []
    if isinstance(digest, list):
        for item in digest:
            link = case_link(item.get("case_id"), settings)
            entry = f"- {item.get('subject', '')}"
            out.append(f"{entry} {_link('查看 / open', link)}".rstrip())
        return title, out
    facts = robot.facts
    if facts:
        out += [
            f"> 案件编号 Case：{facts.get('number', '—')}",
            f"> 标题 Title：{facts.get('title', '—')}",
            f"> 处置单位 Unit：{facts.get('unit', '—')}",
            f"> 期限 Deadline：{facts.get('deadline', '—')}",
        ]
    else:
        out += [f"> {line}" for line in msg.body_zh.splitlines() if line.strip()][:12]
    link = _link("查看案件 / Open the case", case_link(msg.case_id, settings))
    if link:
        out.append(link)
    return title, out


def body(msg: OutboxMessage, robot: Robot, settings: Settings) -> dict[str, Any]:
    """The JSON body of a WeCom, DingTalk or Feishu robot message (unsigned)."""
    title, rows = lines(msg, robot, settings)
    markdown = _clip(f"### {title}\n" + "\n".join(rows), MARKDOWN_BYTES)
    if robot.kind == WebhookKind.wecom:
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    if robot.kind == WebhookKind.dingtalk:
        return {"msgtype": "markdown", "markdown": {"title": title[:60], "text": markdown}}
    # Feishu: a rich-text post (富文本): one paragraph per line, the case link as a link.
    paragraphs: list[list[dict[str, str]]] = []
    for row in rows:
        if row.startswith("[") and "](" in row:
            label, _, href = row[1:-1].partition("](")
            paragraphs.append([{"tag": "a", "text": label, "href": href}])
        else:
            paragraphs.append([{"tag": "text", "text": row.lstrip("> ")}])
    post = {"zh_cn": {"title": title, "content": paragraphs}}
    return {"msg_type": "post", "content": {"post": post}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """加签: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """签名校验: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def signed(
    url: str, payload: dict[str, Any], robot: Robot, clock: Callable[[], float] = time.time
) -> tuple[str, dict[str, Any]]:
    """The URL and body to post: DingTalk signs in the query (timestamp in ms), Feishu in the
    body (timestamp in s). The robots refuse a timestamp more than an hour off: the clock is
    the sender's own, at sending."""
    if not robot.secret:
        return url, payload
    if robot.kind == WebhookKind.dingtalk:
        ms = int(clock() * 1000)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}timestamp={ms}&sign={dingtalk_sign(robot.secret, ms)}", payload
    if robot.kind == WebhookKind.feishu:
        s = int(clock())
        return url, {"timestamp": str(s), "sign": feishu_sign(robot.secret, s), **payload}
    return url, payload


def answer_code(kind: WebhookKind, answer: Any) -> tuple[str, int] | None:
    """The (field, code) of a refusal in a robot's answer, or None when it accepted."""
    if not isinstance(answer, dict):
        return None
    names = ("code", "StatusCode") if kind == WebhookKind.feishu else ("errcode",)
    for name in names:
        value = answer.get(name)
        if value not in (None, 0, "0"):
            try:
                return name, int(value)
            except (TypeError, ValueError):
                return name, -1
    return None


def refusal(kind: WebhookKind, name: str, code: int, answer: dict[str, Any]) -> tuple[str, bool]:
    """The stored reason of a refusal ("wecom errcode 93000: 中文 / English (errmsg)") and
    whether it is permanent. Unknown codes are retried: the robot may recover."""
    words, permanent = CODES.get((kind, code), (UNKNOWN, False))
    said = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"{kind} {name} {code}: {words.both()} ({said})", permanent


def refused(kind: WebhookKind, response: Any) -> tuple[str, bool] | None:
    """A robot's refusal in its answer — (reason, permanent) — whatever the HTTP status, or
    None when the answer holds no non-zero code."""
    try:
        answer = response.json()
    except ValueError:
        return None
    code = answer_code(kind, answer)
    return None if code is None else refusal(kind, *code, answer)


def explain(last_error: str | None, lang: str) -> str | None:
    """A stored robot refusal told in the reader's language ("93000 机器人 webhook key 无效…"),
    or None when the error is not a robot's code."""
    parts = (last_error or "").split(" ", 3)
    if len(parts) < 3 or parts[1] not in ("errcode", "code", "StatusCode"):
        return None
    try:
        kind, code = WebhookKind(parts[0]), int(parts[2].rstrip(":"))
    except ValueError:
        return None
    words, permanent = CODES.get((kind, code), (UNKNOWN, False))
    how = Msg("（永久，不重试）", " (permanent, not retried)") if permanent else Msg("", "")
    return f"{code} {text.render(words, lang)}{text.render(how, lang)}"


def masked(url: str) -> str:
    """A webhook URL as the pages show it: host and path, without the key or token it carries."""
    cut = url.split("?", 1)[0]
    return cut + ("?…" if "?" in url else "")
