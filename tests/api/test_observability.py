"""api/observability.py: the request id on responses, problem bodies and log lines; the access
line's fields (text and JSON); nothing secret in any log line."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import observability
from api.observability import SECRET_BEARING, JsonFormatter, RequestIdFilter, sane_request_id
from closeloop.config import get_settings
from tests.factories import PASSWORD
from tests.web.conftest import login


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the process as JSON lines (the handler `serve` installs)."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *SECRET_BEARING)}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    observability.quiet_secret_bearing_loggers()  # as configure_logging does
    yield buf
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def records(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def access(buf: io.StringIO) -> list[dict]:
    return [r for r in records(buf) if r["logger"] == "closeloop.access"]


def test_a_sane_incoming_id_is_echoed_and_others_replaced(client):
    r = client.get("/healthz", headers={"X-Request-ID": "edge-42.a_b"})
    assert r.headers["X-Request-ID"] == "edge-42.a_b"
    for bad in ("x" * 65, "has space", "semi;colon", "中文".encode(), ""):
        r = client.get("/healthz", headers={"X-Request-ID": bad})
        rid = r.headers["X-Request-ID"]
        assert rid != bad and sane_request_id(rid) == rid
    first = client.get("/healthz").headers["X-Request-ID"]
    assert first != client.get("/healthz").headers["X-Request-ID"]  # generated per request


def test_problem_bodies_carry_the_id_and_keep_their_fields(client):
    r = client.get("/api/v1/cases/1", headers={"X-Request-ID": "req-401"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["request_id"] == "req-401"
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == 401
    assert int(r.headers["content-length"]) == len(r.content)
    r = client.get("/api/v1/no-such-thing")
    assert r.json()["request_id"] == r.headers["X-Request-ID"]
    head = client.head("/api/v1/cases/1")
    assert head.status_code in (401, 405) and head.content == b""
    assert head.headers["X-Request-ID"]


def test_an_internal_error_answers_with_the_id_and_logs_under_it(client, log_lines):
    def boom() -> None:
        logging.getLogger("closeloop.test").warning("about to fail")
        raise RuntimeError("boom")

    client.app.add_api_route("/api/v1/test-boom", boom)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/test-boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.headers["X-Request-ID"] == "req-500"
    assert r.json()["request_id"] == "req-500"
    lines = records(log_lines)
    mine = [x for x in lines if x["request_id"] == "req-500"]
    assert any(x["message"] == "about to fail" for x in mine)  # a line of the route itself
    assert any(x["logger"] == "closeloop.api" and "exception" in x for x in mine)
    (line,) = [x for x in access(log_lines) if x["request_id"] == "req-500"]
    assert line["status"] == 500 and line["level"] == "ERROR"


def test_the_access_line_has_its_fields(client, auth, log_lines):
    headers = {**auth("disp"), "X-Request-ID": "req-list"}
    r = client.get("/api/v1/cases?page_size=5", headers=headers)
    assert r.status_code == 200
    (line,) = [x for x in access(log_lines) if x["request_id"] == "req-list"]
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/cases"
    assert line["path"] == "/api/v1/cases"  # never the query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == client_user_id(client, headers)
    assert line["client"] == "testclient"
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    client.get("/api/v1/cases/987654", headers={**headers, "X-Request-ID": "req-one"})
    (line,) = [x for x in access(log_lines) if x["request_id"] == "req-one"]
    assert line["route"] == "/api/v1/cases/{case_id}" and line["path"] == "/api/v1/cases/987654"


def client_user_id(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/auth/me", headers=headers).json()["id"])


def test_the_web_pages_log_the_signed_in_user(client, org, log_lines):
    login(client, "disp")
    client.get("/queue", headers={"X-Request-ID": "req-page"})
    (line,) = [x for x in access(log_lines) if x["request_id"] == "req-page"]
    assert line["user_id"] == org["disp"].id


def test_no_password_token_or_cookie_is_logged(client, org, log_lines):
    token = client.post("/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
    access_token = token.json()["access_token"]
    client.post("/api/v1/auth/token", data={"username": "disp", "password": "wrong-secret-99"})
    client.get(
        "/api/v1/cases?token=query-secret-77",
        headers={"Authorization": f"Bearer {access_token}", "Cookie": "other=cookie-secret-55"},
    )
    login(client, "disp")
    cookies = [v for v in client.cookies.values() if v]
    assert cookies  # the page session cookie
    client.get("/")
    text = log_lines.getvalue()
    assert len(access(log_lines)) >= 5
    for secret in (
        PASSWORD,
        "wrong-secret-99",
        access_token,
        "query-secret-77",
        "cookie-secret-55",
    ):
        assert secret not in text
    for value in cookies:
        assert value not in text


def test_json_logs_are_one_switch_away(monkeypatch, client):
    monkeypatch.setenv("CLOSELOOP_LOG_FORMAT", "json")
    get_settings.cache_clear()
    assert get_settings().log_format == "json"
    buf = io.StringIO()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *SECRET_BEARING)}
    try:
        observability.configure_logging(get_settings().log_format, stream=buf)
        observability.configure_logging(get_settings().log_format, stream=buf)  # idempotent
        uvicorn_error = logging.getLogger("uvicorn.error")
        uvicorn_level = uvicorn_error.level
        uvicorn_error.setLevel(logging.INFO)  # as serve's log_level="info" sets it
        uvicorn_error.info("from uvicorn")
        uvicorn_error.setLevel(uvicorn_level)
        client.get("/healthz", headers={"X-Request-ID": "req-json"})
        lines = [json.loads(line) for line in buf.getvalue().splitlines()]  # all JSON
        assert [x["message"] for x in lines if x["logger"] == "uvicorn.error"] == ["from uvicorn"]
        hits = [x for x in lines if x["request_id"] == "req-json"]
        assert len(hits) == 1 and hits[0]["route"] == "/healthz"
        assert logging.getLogger("uvicorn.access").disabled  # ours replaces it
        # httpx names whole URLs at INFO (a robot's webhook key): not at this level
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)

        buf.truncate(0)
        buf.seek(0)
        observability.configure_logging("text", stream=buf)
        client.get("/healthz", headers={"X-Request-ID": "req-text"})
        (line,) = [x for x in buf.getvalue().splitlines() if "req-text" in x]
        assert " INFO [req-text] closeloop.access: GET /healthz 200 " in line
        assert "route=/healthz" in line
    finally:
        for h in list(root.handlers):
            if h.get_name() == "closeloop":
                root.removeHandler(h)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


def test_request_metrics_count_by_route_method_and_status_class() -> None:
    m = observability.RequestMetrics()
    m.observe("GET", "/a/{id}", 200, 0.004)
    m.observe("GET", "/a/{id}", 204, 0.2)
    m.observe("GET", "/a/{id}", 404, 0.001)
    m.observe("BREW", "/a/{id}", 500, 30.0)
    assert m.count("GET", "/a/{id}", "2xx") == 2
    assert m.count("GET", "/a/{id}", "4xx") == 1
    assert m.count("other", "/a/{id}", "5xx") == 1  # unknown methods make no new series
    text = "\n".join(m.render())
    assert 'route="/a/{id}",status="2xx",le="0.005"} 1' in text
    assert 'route="/a/{id}",status="2xx",le="0.25"} 2' in text
    assert 'route="/a/{id}",status="5xx",le="10.0"} 0' in text
    assert 'route="/a/{id}",status="5xx",le="+Inf"} 1' in text
