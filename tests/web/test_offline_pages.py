"""Filing without signal (api/web/routes_offline.py): the installable app's manifest and service
worker, the token the phone fetches before sending, and POST /report/offline — a report saved on
the phone, filed once under the Idempotency-Key it was saved with."""

import json
import struct
from datetime import timedelta

from sqlmodel import select

from models.attachment import Attachment
from models.case import Case
from models.types import SHANGHAI
from tests.web.conftest import csrf_of
from tests.web.test_pages_flow import PNG, _read

KEY = "offline-6b1f2a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def _fields(**over: str) -> dict[str, str]:
    data = {
        "kind": "event",
        "category_class": "01",
        "category_code": "0101",
        "grid_code": "G1",
        "title": "地下室积水",
        "description": "负一层楼梯口积水",
        "address": "东门路1号地下室",
    }
    data.update(over)
    return data


def _send(c, *, key: str | None = KEY, csrf: str | None = None, photos=True, **over: str):  # type: ignore[no-untyped-def]
    token = c.get("/report/offline/token").json()["csrf"] if csrf is None else csrf
    headers = {"Idempotency-Key": key} if key is not None else {}
    files = [("photos", ("现场.jpg", PNG, "image/png"))] if photos else None
    data = {"csrf_token": token, **_fields(**over)}
    return c.post("/report/offline", data=data, files=files, headers=headers)


def _cases(session):  # type: ignore[no-untyped-def]
    return _read(session, select(Case).order_by(Case.id))


def test_the_manifest_makes_the_pages_an_installable_app(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(r.content)
    assert manifest["name"] == "闭环 Closeloop"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/my",
        "/",
        "standalone",
    )
    sizes = set()
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        width, height = struct.unpack(">II", png.content[16:24])  # the IHDR chunk
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes


def test_the_service_worker_is_served_from_the_root_and_keeps_the_shell(client):
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["service-worker-allowed"] == "/"
    assert r.headers["cache-control"] == "no-cache"
    for path in ("/report/new", "/my", "/static/app.css", "/static/app.js", "/static/offline.js"):
        assert f'"{path}"' in r.text, path
        assert client.get(path, follow_redirects=False).status_code in (200, 303), path


def test_the_filers_pages_link_the_app_and_others_do_not(web, client):
    rep = web("rep1")
    for path in ("/my", "/report/new"):
        html = rep.get(path).text
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html, path
        assert 'src="/static/offline.js"' in html and 'content="rep1"' in html
        assert 'data-testid="nav-outbox" hidden' in html and 'data-testid="outbox"' in html
    handler = web("h_zj").get("/inbox").text
    assert "manifest" not in handler and "offline.js" not in handler
    assert "manifest" not in client.get("/login").text


def test_the_token_names_the_user_and_is_the_sessions_csrf(web, client):
    rep = web("rep1")
    r = rep.get("/report/offline/token")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json() == {"username": "rep1", "csrf": csrf_of(rep.get("/report/new").text)}
    assert web("h_zj").get("/report/offline/token").status_code == 403
    anonymous = client.get("/report/offline/token", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


def test_a_saved_report_is_filed_once_with_its_photo(web, session, org):
    rep = web("rep1")
    first = _send(rep)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["number"] and body["url"] == f"/cases/{body['case_id']}"
    # The answer was lost: the phone sends it again, with the same key.
    again = _send(rep)
    assert again.status_code == 201 and again.json() == body
    cases = _cases(session)
    assert [(c.id, c.title) for c in cases] == [(body["case_id"], "地下室积水")]
    assert cases[0].number == body["number"] and cases[0].reporter_id == org.users["rep1"].id
    photos = _read(session, select(Attachment))
    assert [(a.case_id, a.filename) for a in photos] == [(body["case_id"], "现场.jpg")]


def test_a_refused_report_answers_its_error_in_both_languages_and_files_nothing(web, session, org):
    rep = web("rep1")
    r = _send(rep, title="")
    assert r.status_code == 422
    error = r.json()["error"]
    assert "标题" in error["zh"] and "Title" in error["en"]
    r = _send(rep, grid_code="NOPE")
    assert r.status_code == 422 and r.json()["error"]["zh"] and r.json()["error"]["en"]
    r = _send(rep, key=None)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["error"]["en"]
    r = _send(rep, key="has space")
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["error"]["zh"]
    assert _cases(session) == [] and _read(session, select(Attachment)) == []
    # A refused filing keeps no key: corrected, the same report files.
    assert _send(rep).status_code == 201
    # The same key with another body (an edited report must draw a new key) is refused.
    r = _send(rep, title="另一件事")
    assert r.status_code == 422 and "another request" in r.json()["error"]["en"]
    assert len(_cases(session)) == 1


def test_a_file_that_is_not_a_photo_rolls_the_filing_back(web, session, org):
    rep = web("rep1")
    token = rep.get("/report/offline/token").json()["csrf"]
    r = rep.post(
        "/report/offline",
        data={"csrf_token": token, **_fields()},
        files=[("photos", ("x.png", b"just text\n" * 20, "image/png"))],
        headers={"Idempotency-Key": KEY},
    )
    assert r.status_code == 415 and r.json()["error"]["en"]
    assert _cases(session) == []


def test_without_the_csrf_token_nothing_is_filed(web, session, org):
    rep = web("rep1")
    r = _send(rep, csrf="forged")
    assert r.status_code == 403
    assert _cases(session) == []
    assert web("h_zj").get("/report/offline/token").status_code == 403


def test_a_handler_may_not_file_from_the_phone(web, session, org):
    handler = web("h_zj")
    token = csrf_of(handler.get("/inbox").text)
    r = handler.post(
        "/report/offline",
        data={"csrf_token": token, **_fields()},
        headers={"Idempotency-Key": KEY},
    )
    assert r.status_code == 403 and r.json()["error"]["zh"]
    assert _cases(session) == []


def test_the_time_it_was_saved_is_noted_in_the_description(web, session, org, clock):
    rep = web("rep1")
    token = rep.get("/report/offline/token").json()["csrf"]

    def send(key: str, saved_at: str) -> Case:
        data = {"csrf_token": token, "saved_at": saved_at, **_fields(title=key)}
        r = rep.post("/report/offline", data=data, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        return _cases(session)[-1]

    saved = clock.now() - timedelta(hours=2, minutes=30)
    case = send("k-earlier", saved.isoformat().replace("+00:00", "Z"))
    local = saved.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert case.description == f"负一层楼梯口积水\n（离线保存于 {local}，联网后发送）"
    # A time that cannot be right (in the future, unreadable) is left out.
    for i, odd in enumerate(((clock.now() + timedelta(hours=1)).isoformat(), "yesterday", "")):
        assert send(f"k-odd-{i}", odd).description == "负一层楼梯口积水"
