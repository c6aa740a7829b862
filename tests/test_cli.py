"""The command line as a user runs it (SQLite files in a temporary folder)."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from closeloop.cli import main
from closeloop.config import get_settings


@pytest.fixture
def dbfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    return path


def test_init_is_safe_to_run_twice(dbfile, capsys):
    assert main(["init", "--admin-user", "root", "--admin-password", "a-long-password"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["admin_status"] == "created"
    assert main(["init", "--admin-user", "root", "--admin-password", "another-password"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["admin_status"].startswith("already exists")
    import sqlite3

    rows = sqlite3.connect(dbfile).execute("select username, role from user").fetchall()
    assert rows == [("root", "admin")]


def test_init_refuses_a_short_password(dbfile, capsys):
    assert main(["init", "--admin-user", "root", "--admin-password", "short"]) == 2
    assert "password" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_starts_and_prints_working_passwords(tmp_path):
    port = _free_port()
    env = {**os.environ, "CLOSELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
           "CLOSELOOP_DATA_DIR": str(tmp_path / "data"), "CLOSELOOP_SCHEDULER": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "closeloop.cli", "serve", "--demo", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        text = "".join(out)
        assert "/docs" in text, text
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/docs").status_code == 200
        match = re.search(r"^\s*(\S+)\s+\S+ dispatcher\s.*?(\S+)\s*$", text, re.M)
        assert match, text
        username, password = match.group(1), match.group(2)
        token = httpx.post(f"{base}/api/v1/auth/token",
                           data={"username": username, "password": password})
        assert token.status_code == 200, (username, password, token.text)
        cases = httpx.get(f"{base}/api/v1/cases",
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert cases.json()["total"] >= 100
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_refuses_a_bad_escalation_policy(dbfile, tmp_path, monkeypatch, capsys):
    policy = tmp_path / "policy.toml"
    policy.write_text("[ladder]\nwarning = -3\n", encoding="utf-8")
    monkeypatch.setenv("CLOSELOOP_ESCALATION_POLICY", str(policy))
    get_settings.cache_clear()
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "warning" in err
    assert not dbfile.exists()  # refused before touching the database
