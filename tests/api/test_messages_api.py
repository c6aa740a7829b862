"""The API's refusals name the field, the limit and the action in words (issue 12 point 10):
a 422 says which field and what range, in both languages; an upload refusal lists the accepted
types; an action's needs and state refusals name the action, never its code."""

import pytest

from tests.api.test_cases_api import _act, _file

PROBLEM = "application/problem+json"


def _rectifying(client, auth):
    case = _file(client, auth("rep1")).json()
    case = _act(client, auth("disp"), case, "dispatch", unit_code="ZJ").json()
    return _act(client, auth("h_zj"), case, "sign").json()


@pytest.mark.parametrize("days", [0, -3, 9999])
def test_extension_days_out_of_range_name_field_and_range(client, auth, days):
    case = _rectifying(client, auth)
    r = _act(client, auth("h_zj"), case, "request_extension", reason="材料未到", days=days)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    detail = r.json()["detail"]
    assert "延期天数必须在 1 到 365 个工作日之间" in detail
    assert "days: Extension days must be between 1 and 365 working days" in detail
    assert r.json()["errors"][0]["field"] == "days"


def test_a_long_title_names_the_field_and_its_limit(client, auth):
    r = _file(client, auth("rep1"), title="长" * 10_000)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "标题最长 200 个字符" in detail
    assert "title: Title can be at most 200 characters long" in detail


def test_a_bad_coordinate_names_the_field_and_its_range(client, auth):
    r = _file(client, auth("rep1"), location={"lat": 120, "lon": 114.1})
    assert r.status_code == 422
    assert "纬度必须在 -90 到 90 之间" in r.json()["detail"]


def test_an_upload_refusal_lists_the_accepted_types(client, auth):
    case = _file(client, auth("rep1")).json()
    r = client.post(
        f"/api/v1/cases/{case['id']}/attachments",
        headers=auth("rep1"),
        files={"file": ("notes.txt", b"just some text", "text/plain")},
    )
    assert r.status_code == 415
    detail = r.json()["detail"]
    assert "不支持的文件类型 notes.txt；可上传：JPEG、PNG、WebP、HEIC、PDF" in detail
    assert "accepted: JPEG, PNG, WebP, HEIC, PDF" in detail


def test_a_missing_reason_names_the_action_in_words(client, auth):
    case = _file(client, auth("rep1")).json()
    case = _act(client, auth("disp"), case, "dispatch", unit_code="ZJ").json()
    r = _act(client, auth("h_zj"), case, "return")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail == "退单需要填写原因 / Returning a case needs a reason"


def test_a_state_refusal_names_the_state_and_actions_in_words(client, auth):
    case = _rectifying(client, auth)
    r = _act(client, auth("h_zj"), case, "return", reason="不属于本单位")
    assert r.status_code == 409
    body = r.json()
    zh = body["detail"].split(" / ")[0]
    assert zh.startswith("案件整改中，不能退单；可执行：")
    assert "提交整改" in zh and "申请延期" in zh
    assert not any(code in zh for code in ("return", "rectifying", "submit", "request_"))
    # The codes stay in the problem's own members for programs.
    assert body["state"] == "rectifying" and "submit" in body["allowed_actions"]


def test_a_role_refusal_names_the_role_and_action_in_words(client, auth):
    case = _file(client, auth("rep1")).json()
    r = _act(client, auth("rep1"), case, "dispatch", unit_code="ZJ")
    assert r.status_code == 403
    assert r.json()["detail"].split(" / ")[0] == "网格员不能对网格事件执行派遣"
