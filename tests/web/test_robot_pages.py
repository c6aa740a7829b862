"""The admin's robot fields on the unit and user pages (the secret write-only) and the delivery
page: robot kind, state, attempts, the digest a message was folded into, codes in words."""

import pytest
from sqlmodel import select

from api.web import session as websession
from closeloop.db import new_session, transaction
from models.enums import Channel, DeliveryStatus
from models.org import Unit
from models.outbox import OutboxMessage
from models.user import User
from notifications import outbox
from tests.factories import NOW
from tests.web.conftest import csrf_of

DING = "https://oapi.dingtalk.com/robot/send?access_token=tok123"


def test_unit_robot_fields_on_the_pages_keep_the_secret_hidden(web) -> None:
    c = web("admin")
    token = csrf_of(c.get("/admin/units").text)
    base = {"csrf_token": token, "code": "XF", "name": "区消防大队", "short_name": "消防"}
    r = c.post(
        "/admin/units",
        data={**base, "webhook_url": DING, "webhook_kind": "wecom", "webhook_secret": "SECx"},
    )
    assert r.status_code == 422 and "webhook_secret" in r.text and "SECx" not in r.text
    r = c.post(
        "/admin/units",
        data={**base, "webhook_url": DING, "webhook_kind": "", "webhook_secret": "SECtop"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    listing = c.get("/admin/units").text
    assert "SECtop" not in listing and "钉钉" in listing
    edit = c.get("/admin/units/XF").text
    assert "SECtop" not in edit and 'value="dingtalk" selected' in edit
    fields = {
        "csrf_token": csrf_of(edit),
        "name": "区消防大队",
        "short_name": "消防",
        "webhook_url": DING,
        "webhook_kind": "dingtalk",
        "webhook_secret": "",
    }
    assert c.post("/admin/units/XF", data=fields, follow_redirects=False).status_code == 303
    with new_session(c.app.state.engine) as s:
        assert s.get(Unit, "XF").webhook_secret == "SECtop"  # empty kept it
    fields["webhook_secret"] = "-"
    assert c.post("/admin/units/XF", data=fields, follow_redirects=False).status_code == 303
    with new_session(c.app.state.engine) as s:
        assert s.get(Unit, "XF").webhook_secret is None  # "-" cleared it
    fields["webhook_kind"] = "slack"
    r = c.post("/admin/units/XF", data=fields)
    assert r.status_code == 422 and "wecom" in r.text


def test_a_users_robot_on_the_edit_page(web) -> None:
    c = web("admin")
    edit = c.get("/admin/users/disp").text
    assert 'name="webhook_url"' in edit
    with new_session(c.app.state.engine) as s:
        disp = s.exec(select(User).where(User.username == "disp")).one()
    data = {
        "csrf_token": csrf_of(edit),
        "display_name": disp.display_name,
        "role": disp.role,
        "unit_code": disp.unit_code or "",
        "region_code": disp.region_code or "",
        "email": disp.email or "",
        "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/me",
        "webhook_kind": "",
        "webhook_secret": "fs-key",
    }
    assert c.post("/admin/users/disp", data=data, follow_redirects=False).status_code == 303
    with new_session(c.app.state.engine) as s:
        disp = s.exec(select(User).where(User.username == "disp")).one()
        assert (disp.webhook_kind, disp.webhook_secret) == ("feishu", "fs-key")
    assert "fs-key" not in c.get("/admin/users/disp").text


def _three_states(engine) -> dict[str, int]:
    """A WeCom robot's messages: one sent, one folded into a digest, one failed with 93000."""
    with transaction(engine) as s:
        unit = s.get(Unit, "ZJ")
        unit.webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key"
        unit.webhook_kind = "wecom"
        ids = {}
        for name in ("sent", "folded", "failed"):
            added = outbox.notify_unit(
                s,
                unit_code="ZJ",
                event="x",
                subject=f"通知 {name}",
                body="b",
                now=NOW,
                key=f"k:{name}",
            )
            ids[name] = next(m.id for m in added if m.channel == Channel.webhook)
        sent, folded, failed = (s.get(OutboxMessage, ids[n]) for n in ("sent", "folded", "failed"))
        sent.status, sent.sent_at, sent.attempts = DeliveryStatus.sent, NOW, 1
        failed.status, failed.attempts = DeliveryStatus.failed, 1
        failed.last_error = "wecom errcode 93000: x (invalid webhook url)"
        digest = OutboxMessage(
            key="robot-digest:t",
            channel=Channel.webhook,
            recipient=unit.webhook_url,
            event="digest",
            subject="群机器人消息汇总（1 条）",
            body="",
            status=DeliveryStatus.pending,
            payload={"digest": [{"id": folded.id, "subject": "通知 folded"}]},
            next_attempt_at=NOW,
            created_at=NOW,
        )
        s.add(digest)
        s.flush()
        folded.status, folded.folded_into_id = DeliveryStatus.folded, digest.id
        ids["digest"] = digest.id
    return ids


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_delivery_page_shows_each_state_and_codes_in_words(web, lang) -> None:
    c = web("admin")
    ids = _three_states(c.app.state.engine)
    c.cookies.set(websession.LANG_COOKIE, lang)
    page = c.get("/admin/outbox")
    assert page.status_code == 200
    html = page.text
    assert "secret-key" not in html  # the robot's key is not shown
    assert f'data-id="{ids["folded"]}" data-status="folded" data-kind="wecom"' in html
    assert ("并入汇总消息 #" if lang == "zh" else "in digest #") + str(ids["digest"]) in html
    words = "机器人 webhook key 无效" if lang == "zh" else "invalid webhook key"
    assert f"93000 {words}" in html
    only = c.get("/admin/outbox?status=failed").text
    assert only.count('data-testid="outbox-row"') == 1
    token = csrf_of(only)
    r = c.post(
        f"/admin/outbox/{ids['failed']}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    with new_session(c.app.state.engine) as s:
        assert s.get(OutboxMessage, ids["failed"]).status == DeliveryStatus.pending
    assert c.get("/admin/outbox?status=nope").status_code == 422


def test_only_the_admin_sees_the_delivery_page(web) -> None:
    for user in ("disp", "sup", "h_zj"):
        assert web(user).get("/admin/outbox").status_code == 403
