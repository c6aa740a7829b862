"""Units and users take a group robot's kind and signing secret beside the webhook URL; the
secret is write-only (shown as set or not), the kind inferred from the host when left out."""

import json

DING = "https://oapi.dingtalk.com/robot/send?access_token=t1"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"


def _unit(client, headers, **fields):
    body = {"code": "XF", "name": "区消防救援大队", "short_name": "消防", **fields}
    return client.post("/api/v1/units", headers=headers, json=body)


def test_a_units_robot_kind_is_inferred_and_its_secret_never_shown(client, auth):
    a = auth("admin")
    r = _unit(client, a, webhook_url=DING, webhook_secret="SECabc")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["webhook_kind"] == "dingtalk" and body["webhook_secret_set"] is True
    assert "webhook_secret" not in body and "SECabc" not in r.text
    listed = client.get("/api/v1/units", headers=a)
    assert "SECabc" not in listed.text
    (xf,) = [u for u in listed.json() if u["code"] == "XF"]
    assert xf["webhook_secret_set"] is True
    # A PATCH without the secret keeps it; a new URL of another robot infers the kind again,
    # and a kept secret of a robot that cannot sign is dropped.
    r = client.patch("/api/v1/units/XF", headers=a, json={"name": "消防大队"})
    assert r.json()["webhook_secret_set"] is True and r.json()["webhook_kind"] == "dingtalk"
    r = client.patch("/api/v1/units/XF", headers=a, json={"webhook_url": WECOM})
    assert r.json()["webhook_kind"] == "wecom" and r.json()["webhook_secret_set"] is False
    # An explicit kind wins over the host (an intranet relay in front of a DingTalk robot).
    r = client.patch(
        "/api/v1/units/XF",
        headers=a,
        json={
            "webhook_url": "http://relay.luohu.example/ding",
            "webhook_kind": "dingtalk",
            "webhook_secret": "SECnew",
        },
    )
    assert r.json()["webhook_kind"] == "dingtalk" and r.json()["webhook_secret_set"] is True
    # An empty secret clears it; no URL clears the robot.
    r = client.patch("/api/v1/units/XF", headers=a, json={"webhook_secret": ""})
    assert r.json()["webhook_secret_set"] is False
    r = client.patch("/api/v1/units/XF", headers=a, json={"webhook_url": None})
    assert r.json()["webhook_kind"] is None


def test_bad_robot_settings_are_422_and_change_nothing(client, auth):
    a = auth("admin")
    r = _unit(client, a, webhook_url=WECOM, webhook_kind="slack")
    assert r.status_code == 422
    text = json.dumps(r.json(), ensure_ascii=False)
    assert all(k in text for k in ("wecom", "dingtalk", "feishu", "generic"))
    r = _unit(client, a, webhook_url=WECOM, webhook_secret="SECx")
    assert r.status_code == 422 and "webhook_secret" in r.text
    r = _unit(client, a, webhook_url=DING, webhook_kind="generic", webhook_secret="SECx")
    assert r.status_code == 422
    assert all(u["code"] != "XF" for u in client.get("/api/v1/units", headers=a).json())
    assert _unit(client, a, webhook_url=DING).status_code == 201
    r = client.patch("/api/v1/units/XF", headers=a, json={"webhook_kind": "teams"})
    assert r.status_code == 422
    r = client.patch(
        "/api/v1/units/XF", headers=a, json={"webhook_kind": "wecom", "webhook_secret": "s"}
    )
    assert r.status_code == 422
    (xf,) = [u for u in client.get("/api/v1/units", headers=a).json() if u["code"] == "XF"]
    assert xf["webhook_kind"] == "dingtalk"


def test_a_user_has_a_robot_of_their_own(client, auth):
    a = auth("admin")
    r = client.post(
        "/api/v1/users",
        headers=a,
        json={
            "username": "lead1",
            "password": "long-enough-pw",
            "display_name": "分管领导",
            "role": "supervisor",
            "region_code": "D1",
            "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/abc",
            "webhook_secret": "fs-secret",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["webhook_kind"] == "feishu" and body["webhook_secret_set"] is True
    assert "fs-secret" not in r.text
    assert "fs-secret" not in client.get("/api/v1/users", headers=a).text
    r = client.patch("/api/v1/users/lead1", headers=a, json={"webhook_kind": "nope"})
    assert r.status_code == 422
    r = client.patch("/api/v1/users/lead1", headers=a, json={"webhook_url": "ftp://x"})
    assert r.status_code == 422
    r = client.patch("/api/v1/users/lead1", headers=a, json={"webhook_url": WECOM})
    assert r.json()["webhook_kind"] == "wecom" and r.json()["webhook_secret_set"] is False
