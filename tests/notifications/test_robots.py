"""Group robots against a real HTTP robot on loopback: each kind's markdown and signature (the
test robot checks DingTalk's and Feishu's signatures with the secret, as theirs do), error codes
in words, permanent vs retried refusals, and the rate limit folding the overflow into a digest."""

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import col, select

from closeloop import text
from closeloop.db import new_session, transaction
from models.enums import CaseState, Channel, DeliveryStatus, WebhookKind
from models.org import Unit
from models.outbox import OutboxMessage
from models.user import User
from notifications import folding, outbox, robots
from tests.factories import NOW, case_in
from tests.notifications.delivering import Deliver, delivery_job
from tests.notifications.servers import Robot
from tests.notifications.test_delivery import settings_for

SECRET = "SEC0123456789abcdef"


@pytest.fixture
def deliver_due(monkeypatch: pytest.MonkeyPatch) -> Deliver:
    return delivery_job(monkeypatch)


@pytest.fixture
def robot() -> Iterator[Robot]:
    r = Robot()
    r.up()
    yield r
    r.close()


def configure(engine, url: str, kind: str | None, secret: str | None = None) -> None:
    with transaction(engine) as s:
        unit = s.get(Unit, "ZJ")
        unit.webhook_url, unit.webhook_kind, unit.webhook_secret = url, kind, secret


def notify(engine, n: int = 1, *, case_id: int | None = None, start: int = 0) -> list[int]:
    """`n` notices for unit ZJ (committed); the ids of the webhook messages."""
    ids = []
    with transaction(engine) as s:
        for i in range(start, start + n):
            added = outbox.notify_unit(
                s,
                unit_code="ZJ",
                event="dispatched",
                subject=f"新案件待签收 {i} / new case {i}",
                body="请签收 / please sign for it",
                now=NOW,
                key=f"case:{i}:v2:dispatch",
                case_id=case_id,
                payload={"case_number": f"SJ{i:06d}"},
            )
            ids += [m.id for m in added if m.channel == Channel.webhook]
    return ids


def rows(engine, ids: list[int]) -> list[OutboxMessage]:
    with new_session(engine) as s:
        return [s.get(OutboxMessage, i) for i in ids]


def a_case(engine, org) -> int:
    with transaction(engine) as s:
        case = case_in(s, org, CaseState.dispatched)
        return case.id


def test_the_kind_is_inferred_from_the_host():
    from closeloop.org.robots import infer_kind

    assert infer_kind("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k") == "wecom"
    assert infer_kind("https://oapi.dingtalk.com/robot/send?access_token=t") == "dingtalk"
    assert infer_kind("https://open.feishu.cn/open-apis/bot/v2/hook/x") == "feishu"
    assert infer_kind("https://open.larksuite.com/open-apis/bot/v2/hook/x") == "feishu"
    assert infer_kind("http://127.0.0.1:8080/hook") == "generic"
    assert infer_kind("https://qyapi.weixin.qq.com.evil.example/x") == "generic"


def test_wecom_gets_markdown_with_the_case_and_a_link(engine, org, robot, deliver_due):
    case_id = a_case(engine, org)
    configure(engine, robot.url, "wecom")
    (msg_id,) = notify(engine, case_id=case_id)
    settings = settings_for(public_base_url="https://closeloop.luohu.example/")
    assert deliver_due(engine, now=NOW, settings=settings)["sent"] == 1
    body = robot.requests[-1]["json"]
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    with new_session(engine) as s:
        from models.case import Case

        case = s.get(Case, case_id)
    assert case.number in content and "测试案件" in content and "区住房和建设局" in content
    assert f"期限 Deadline：{text.local_minute(case.due_at)}" in content and case.due_at
    assert f"(https://closeloop.luohu.example/cases/{case_id})" in content
    assert rows(engine, [msg_id])[0].status == DeliveryStatus.sent


def dingtalk_check(secret: str):
    def check(path: str, body: dict[str, Any]) -> Any:
        query = parse_qs(urlsplit(path).query)
        ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
        want = base64.b64encode(
            hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if not ts or sign != want:  # parse_qs has already URL-decoded the sign
            return (200, {"errcode": 310000, "errmsg": "sign not match"})
        return None

    return check


def test_dingtalk_is_signed_in_the_query_and_checked_by_the_robot(engine, org, robot, deliver_due):
    configure(engine, robot.url, "dingtalk", SECRET)
    robot.check = dingtalk_check(SECRET)
    (msg_id,) = notify(engine)
    assert deliver_due(engine, now=NOW, settings=settings_for())["sent"] == 1
    request = robot.requests[-1]
    assert request["path"].startswith("/cgi-bin/webhook/send?key=test&timestamp=")
    ts = int(parse_qs(urlsplit(request["path"]).query)["timestamp"][0])
    assert ts > 10**12  # milliseconds
    body = request["json"]
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert "新案件待签收 0" in body["markdown"]["title"]


def test_a_wrong_dingtalk_secret_fails_at_once_with_the_code_in_words(
    engine, org, robot, deliver_due
):
    configure(engine, robot.url, "dingtalk", "SECwrong")
    robot.check = dingtalk_check(SECRET)
    (msg_id,) = notify(engine)
    assert deliver_due(engine, now=NOW, settings=settings_for())["failed"] == 1
    failed = rows(engine, [msg_id])[0]
    assert failed.status == DeliveryStatus.failed and failed.attempts == 1  # no retry
    assert failed.last_error.startswith("dingtalk errcode 310000:")
    assert "签名" in robots.explain(failed.last_error, "zh")
    assert "signature" in robots.explain(failed.last_error, "en")


def feishu_check(secret: str):
    def check(path: str, body: dict[str, Any]) -> Any:
        ts = body.get("timestamp", "")
        key = f"{ts}\n{secret}".encode()
        want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != want:
            return (200, {"code": 19021, "msg": "sign match fail", "data": {}})
        return (200, {"code": 0, "msg": "success", "StatusCode": 0})

    return check


def test_feishu_is_signed_in_the_body_and_checked_by_the_robot(engine, org, robot, deliver_due):
    case_id = a_case(engine, org)
    configure(engine, robot.url, "feishu", SECRET)
    robot.check = feishu_check(SECRET)
    (msg_id,) = notify(engine, case_id=case_id)
    settings = settings_for(public_base_url="https://closeloop.luohu.example")
    assert deliver_due(engine, now=NOW, settings=settings)["sent"] == 1
    body = robot.requests[-1]["json"]
    assert body["msg_type"] == "post" and 10**9 < int(body["timestamp"]) < 10**11  # seconds
    post = body["content"]["post"]["zh_cn"]
    assert "新案件待签收 0" in post["title"]
    tags = [part["tag"] for line in post["content"] for part in line]
    assert "a" in tags and "text" in tags
    link = next(p for line in post["content"] for p in line if p["tag"] == "a")
    assert link["href"].endswith(f"/cases/{case_id}")


def test_a_wrong_feishu_secret_is_19021_in_words_and_permanent(engine, org, robot, deliver_due):
    configure(engine, robot.url, "feishu", "other-secret")
    robot.check = feishu_check(SECRET)
    (msg_id,) = notify(engine)
    assert deliver_due(engine, now=NOW, settings=settings_for())["failed"] == 1
    failed = rows(engine, [msg_id])[0]
    assert failed.last_error.startswith("feishu code 19021:") and failed.attempts == 1
    assert robots.explain(failed.last_error, "en").startswith("19021 signature check failed")


def test_wecom_bad_key_is_permanent_and_a_rate_limit_answer_is_retried(
    engine, org, robot, deliver_due
):
    configure(engine, robot.url, "wecom")
    robot.replies = [
        (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
        (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
    ]
    (msg_id,) = notify(engine)
    settings = settings_for()
    assert deliver_due(engine, now=NOW, settings=settings)["retrying"] == 1
    waiting = rows(engine, [msg_id])[0]
    assert waiting.status == DeliveryStatus.pending and waiting.next_attempt_at > NOW
    assert "超过每分钟 20 条" in robots.explain(waiting.last_error, "zh")
    assert deliver_due(engine, now=waiting.next_attempt_at, settings=settings)["failed"] == 1
    failed = rows(engine, [msg_id])[0]
    assert failed.status == DeliveryStatus.failed and failed.attempts == 2
    assert robots.explain(failed.last_error, "en") == (
        "93000 invalid webhook key (robot removed?) (permanent, not retried)"
    )
    # Feishu's code, and its older StatusCode, are read too; an unknown code is retried.
    assert robots.answer_code(WebhookKind.feishu, {"StatusCode": 11232}) == ("StatusCode", 11232)
    assert robots.refusal(WebhookKind.wecom, "errcode", 1, {})[1] is False


def test_25_messages_in_a_minute_to_wecom_are_20_sent_and_a_digest(engine, org, robot, deliver_due):
    configure(engine, robot.url, "wecom")
    ids = notify(engine, 25)
    settings = settings_for()
    first = deliver_due(engine, now=NOW, settings=settings)
    assert first["sent"] == 20 and first["failed"] == 0 and len(robot.requests) == 20
    msgs = rows(engine, ids)
    assert [m.status for m in msgs] == [DeliveryStatus.sent] * 20 + [DeliveryStatus.folded] * 5
    digest_id = msgs[-1].folded_into_id
    assert digest_id and {m.folded_into_id for m in msgs[20:]} == {digest_id}
    (digest,) = rows(engine, [digest_id])
    assert digest.status == DeliveryStatus.pending and digest.next_attempt_at == NOW + timedelta(
        seconds=60
    )
    assert [i["id"] for i in digest.payload["digest"]] == ids[20:]
    # Nothing goes out before the window opens; then the digest, once.
    assert deliver_due(engine, now=NOW + timedelta(seconds=30), settings=settings)["sent"] == 0
    assert deliver_due(engine, now=NOW + timedelta(seconds=60), settings=settings)["sent"] == 1
    assert len(robot.requests) == 21
    content = robot.requests[-1]["json"]["markdown"]["content"]
    assert "群机器人消息汇总（5 条）" in content
    assert all(f"新案件待签收 {i}" in content for i in range(20, 25))
    msgs = rows(engine, ids)
    assert all(m.status == DeliveryStatus.sent for m in msgs)  # none lost
    assert {m.sent_at for m in msgs[20:]} == {NOW + timedelta(seconds=60)}


def test_the_fold_rule_with_a_fake_clock(engine, org):
    """Sent 15 messages 50 s ago: 5 more fit now; the other 3 wait for a digest at +10 s. A later
    run folds more waiting messages into the same digest."""
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=fake"
    configure(engine, url, None)  # the kind inferred from the host
    ids = notify(engine, 23)
    earlier = NOW - timedelta(seconds=50)
    with transaction(engine) as s:
        for msg_id in ids[:15]:
            msg = s.get(OutboxMessage, msg_id)
            msg.status, msg.sent_at = DeliveryStatus.sent, earlier
    with transaction(engine) as s:
        keep = folding.throttle(s, ids=ids[15:], now=NOW)
    assert keep == ids[15:20]
    msgs = rows(engine, ids[20:])
    digest_id = msgs[0].folded_into_id
    (digest,) = rows(engine, [digest_id])
    assert digest.next_attempt_at == earlier + timedelta(seconds=60)
    with transaction(engine) as s:  # the five were sent
        for msg_id in keep:
            msg = s.get(OutboxMessage, msg_id)
            msg.status, msg.sent_at = DeliveryStatus.sent, NOW
    more = notify(engine, 2, start=100)
    with transaction(engine) as s:
        assert folding.throttle(s, ids=more, now=NOW) == []
    (digest,) = rows(engine, [digest_id])
    assert len(digest.payload["digest"]) == 5 and "（5 条）" in digest.subject
    with new_session(engine) as s:
        digests = s.exec(select(OutboxMessage).where(OutboxMessage.event == "digest")).all()
    assert len(digests) == 1
    assert folding.opens_at([NOW] * 3, 20, NOW) == NOW
    a_plain = "http://127.0.0.1:9/hook"
    configure(engine, a_plain, None)
    plain = notify(engine, 30, start=200)
    with transaction(engine) as s:
        assert folding.throttle(s, ids=plain, now=NOW) == plain  # generic: no limit


def test_a_users_robot_is_a_channel_for_their_notices(engine, org):
    with transaction(engine) as s:
        user = s.exec(select(User).where(User.username == "disp")).one()
        user.webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=me"
        user_id = user.id
        added = outbox.notify_users(
            s,
            user_ids=[user_id],
            event="x",
            subject="s",
            body="b",
            now=NOW,
            key="k:1",
        )
    hooks = [m for m in added if m.channel == Channel.webhook]
    assert [(m.recipient, m.user_id) for m in hooks] == [
        ("https://oapi.dingtalk.com/robot/send?access_token=me", user_id)
    ]
    with new_session(engine) as s:
        robot = folding.robots_for(s, {hooks[0].recipient})[hooks[0].recipient]
    assert robot.kind == WebhookKind.dingtalk


def test_the_generic_body_stays_as_it_was(engine, org, robot, deliver_due):
    configure(engine, robot.url, None)
    notify(engine)
    deliver_due(engine, now=NOW, settings=settings_for())
    body = robot.requests[-1]["json"]
    assert body["msgtype"] == "text" and set(body) == {"msgtype", "text", "closeloop"}
    assert not re.search(r"timestamp=", robot.requests[-1]["path"])
    with new_session(engine) as s:
        assert (
            s.exec(
                select(OutboxMessage).where(col(OutboxMessage.folded_into_id).is_not(None))
            ).all()
            == []
        )


def test_a_robots_code_counts_even_with_an_http_error_status(engine, org, robot, deliver_due):
    configure(engine, robot.url, "feishu")
    robot.replies = [(400, {"code": 9499, "msg": "Bad Request", "data": {}})]
    (msg_id,) = notify(engine)
    assert deliver_due(engine, now=NOW, settings=settings_for())["failed"] == 1
    failed = rows(engine, [msg_id])[0]
    assert failed.last_error.startswith("feishu code 9499:")
    assert robots.explain(failed.last_error, "zh").startswith("9499 请求格式错误")


def test_emergencies_go_first_and_a_digest_delivers_them(engine, org, robot, deliver_due):
    """An emergency is the last a robot's limit folds; one folded into a digest counts as
    delivered when the digest is (the case's alerted_at, 紧急信息30分钟直达)."""
    from models.case import Case

    configure(engine, robot.url, "wecom")
    ids = notify(engine, 19)
    urgent_cases = [a_case(engine, org) for _ in range(3)]
    with transaction(engine) as s:
        for n, case_id in enumerate(urgent_cases):
            added = outbox.notify_unit(
                s,
                unit_code="ZJ",
                event="emergency",
                subject=f"紧急信息 {n} / emergency {n}",
                body="立即处置 / act now",
                now=NOW,
                key=f"emergency:{case_id}",
                case_id=case_id,
            )
            ids += [m.id for m in added if m.channel == Channel.webhook]
    settings = settings_for()
    assert deliver_due(engine, now=NOW, settings=settings)["sent"] == 20
    msgs = rows(engine, ids)
    # The three emergencies, written last, went out; two of the ordinary notices wait.
    assert all(m.status == DeliveryStatus.sent for m in msgs[19:])
    assert sum(m.status == DeliveryStatus.folded for m in msgs[:19]) == 2
    with new_session(engine) as s:
        assert all(s.get(Case, c).alerted_at == NOW for c in urgent_cases)

    # Now a robot already at its limit: a new emergency is folded, and alerted when sent.
    late_case = a_case(engine, org)
    with transaction(engine) as s:
        for msg in s.exec(select(OutboxMessage).where(OutboxMessage.status == "sent")):
            msg.sent_at = NOW + timedelta(seconds=1)
        (late,) = [
            m
            for m in outbox.notify_unit(
                s,
                unit_code="ZJ",
                event="emergency",
                subject="紧急信息 / emergency",
                body="立即处置 / act now",
                now=NOW,
                key=f"emergency:{late_case}",
                case_id=late_case,
            )
            if m.channel == Channel.webhook
        ]
        late_id = late.id
    later = NOW + timedelta(seconds=2)
    deliver_due(engine, now=later, settings=settings)
    (folded,) = rows(engine, [late_id])
    assert folded.status == DeliveryStatus.folded and folded.folded_into_id
    with new_session(engine) as s:
        assert s.get(Case, late_case).alerted_at is None
    opens = NOW + timedelta(seconds=61)
    deliver_due(engine, now=opens, settings=settings)
    with new_session(engine) as s:
        assert s.get(OutboxMessage, late_id).status == DeliveryStatus.sent
        assert s.get(Case, late_case).alerted_at == opens
