"""Group robots (群机器人) as a unit or user configures them: which kind a webhook URL is, and
whether its signing secret fits the kind. One rule each: the API, the pages and the import call
`robot_fields`; delivery (notifications.robots) calls `infer_kind` for a URL it sends to."""

from typing import Any
from urllib.parse import urlsplit

from closeloop.errors import Invalid
from closeloop.text import Msg
from models.enums import WebhookKind

# The robots' own hosts; any other URL (an intranet relay, a test server) is a plain webhook.
HOSTS: dict[str, WebhookKind] = {
    "qyapi.weixin.qq.com": WebhookKind.wecom,
    "oapi.dingtalk.com": WebhookKind.dingtalk,
    "open.feishu.cn": WebhookKind.feishu,
    "open.larksuite.com": WebhookKind.feishu,
}
# The kinds whose robots check a signature (加签 / 签名校验) made with a secret.
SIGNING: frozenset[WebhookKind] = frozenset({WebhookKind.dingtalk, WebhookKind.feishu})


def infer_kind(url: str | None) -> WebhookKind:
    """The robot a URL belongs to, from its host (generic when none of the robots' hosts)."""
    host = (urlsplit(url or "").hostname or "").lower()
    return HOSTS.get(host, WebhookKind.generic)


def _kind(value: str) -> WebhookKind:
    try:
        return WebhookKind(value.strip().lower())
    except ValueError:
        allowed = "、".join(WebhookKind)
        raise Invalid(
            Msg(
                f"群机器人类型（webhook_kind）{value} 无效，可选：{allowed}",
                f"webhook_kind {value!r} is not a robot kind; allowed: {', '.join(WebhookKind)}",
            )
        ) from None


def robot_fields(
    *,
    url: str | None,
    kind: str | None,
    secret: str | None,
    given: set[str],
    stored_kind: str | None = None,
    stored_secret: str | None = None,
) -> dict[str, Any]:
    """The webhook_kind and webhook_secret to store beside `url` (the URL after the change).

    `given`: the fields the request names (a PATCH leaves out what it keeps). No URL: no robot,
    kind and secret cleared. A kind not given is inferred from the URL when the URL or the kind
    is new, else kept. A secret not given is kept (it is write-only: shown as set or not); an
    empty one clears it. A secret for a kind that signs nothing (WeCom, generic) is refused; a
    kept secret of a robot that no longer signs is dropped."""
    if not url:
        if secret and "webhook_secret" in given:
            raise Invalid(
                Msg(
                    "设置签名密钥（webhook_secret）需同时填写群机器人地址（webhook_url）",
                    "webhook_secret needs a webhook_url",
                )
            )
        return {"webhook_kind": None, "webhook_secret": None}
    if "webhook_kind" in given and kind:
        chosen = _kind(kind)
    elif "webhook_url" in given or not stored_kind:
        chosen = infer_kind(url)
    else:
        chosen = _kind(stored_kind)
    if "webhook_secret" in given:
        new_secret = (secret or "").strip() or None
        if new_secret and chosen not in SIGNING:
            raise Invalid(
                Msg(
                    f"{chosen} 群机器人不支持加签，请不要填写签名密钥（webhook_secret）；"
                    "支持加签的：dingtalk（钉钉）、feishu（飞书）",
                    f"a {chosen} robot signs nothing: leave webhook_secret empty "
                    "(only dingtalk and feishu robots take a signing secret)",
                )
            )
    else:
        new_secret = stored_secret if chosen in SIGNING else None
    return {"webhook_kind": str(chosen), "webhook_secret": new_secret}
