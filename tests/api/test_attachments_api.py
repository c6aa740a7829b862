"""Evidence uploads: content-addressed storage, size and type limits, jurisdiction."""

import hashlib

from closeloop.config import get_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _case(client, auth):
    r = client.post(
        "/api/v1/cases",
        headers=auth("rep1"),
        json={"kind": "event", "title": "井盖缺失", "category_code": "0102", "grid_code": "G1"},
    )
    return r.json()


def _upload(client, headers, case_id, name, data, ctype):
    return client.post(
        f"/api/v1/cases/{case_id}/attachments", headers=headers, files={"file": (name, data, ctype)}
    )


def test_upload_photo_and_pdf_stored_by_hash(client, auth, tmp_path):
    case = _case(client, auth)
    r = _upload(client, auth("rep1"), case["id"], "现场.png", PNG, "image/png")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert body["size"] == len(PNG) and body["content_type"] == "image/png"
    assert body["filename"] == "现场.png"
    stored = get_settings().data_dir / "attachments" / body["sha256"][:2] / body["sha256"]
    assert stored.read_bytes() == PNG
    r2 = _upload(client, auth("rep1"), case["id"], "again.png", PNG, "image/png")
    assert r2.json()["sha256"] == body["sha256"] and r2.json()["id"] != body["id"]
    r3 = _upload(client, auth("disp"), case["id"], "report.pdf", PDF, "application/pdf")
    assert r3.status_code == 201 and r3.json()["content_type"] == "application/pdf"
    listed = client.get(f"/api/v1/cases/{case['id']}/attachments", headers=auth("disp")).json()
    assert len(listed) == 3
    got = client.get(f"/api/v1/attachments/{body['id']}", headers=auth("disp"))
    assert got.status_code == 200 and got.content == PNG


def test_refused_uploads_say_why(client, auth, monkeypatch):
    case = _case(client, auth)
    h = auth("rep1")
    r = _upload(client, h, case["id"], "virus.jpg", b"MZ\x90\x00 not an image", "image/jpeg")
    assert r.status_code == 415 and "accepted" in r.json()["detail"]
    r = _upload(client, h, case["id"], "empty.png", b"", "image/png")
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    monkeypatch.setenv("CLOSELOOP_MAX_UPLOAD_BYTES", "50")
    get_settings.cache_clear()
    r = _upload(client, h, case["id"], "big.png", PNG, "image/png")
    assert r.status_code == 413 and "50" in r.json()["detail"]
    r = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=h)
    assert r.status_code == 422
    assert client.get(f"/api/v1/cases/{case['id']}/attachments", headers=h).json() == []
    leftovers = [p for p in (get_settings().data_dir / "attachments").rglob("*") if p.is_file()]
    assert leftovers == []


def test_uploads_respect_jurisdiction_and_state(client, auth):
    case = _case(client, auth)
    r = _upload(client, auth("h_zj"), case["id"], "x.png", PNG, "image/png")
    assert r.status_code == 403  # not dispatched to ZJ
    r = _upload(client, auth("rep3"), case["id"], "x.png", PNG, "image/png")
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/cases/{case['id']}/actions/cancel",
        headers=auth("disp"),
        json={"reason": "重复上报"},
    )
    assert r.status_code == 200
    r = _upload(client, auth("rep1"), case["id"], "x.png", PNG, "image/png")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    assert client.get("/api/v1/attachments/999", headers=auth("disp")).status_code == 404
