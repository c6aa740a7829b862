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

from cli import main
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
    env = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CLOSELOOP_DATA_DIR": str(tmp_path / "data"),
        "CLOSELOOP_SCHEDULER": "off",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
        assert out[0].startswith("正在准备演示辖区"), text  # said before the wait, not after
        assert "/docs" in text, text
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/docs").status_code == 200
        match = re.search(r"^\s*(\S+)\s+\S+ dispatcher\s.*?(\S+)\s*$", text, re.M)
        assert match, text
        username, password = match.group(1), match.group(2)
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert token.status_code == 200, (username, password, token.text)
        cases = httpx.get(
            f"{base}/api/v1/cases",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
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


def test_report_writes_html_pdf_xlsx_and_bulletin(dbfile, tmp_path, capsys):
    from openpyxl import load_workbook

    from closeloop.db import make_engine, new_session, upgrade
    from tests.factories import build_org
    from tests.reports.seed import seed

    upgrade(f"sqlite:///{dbfile}")
    engine = make_engine(f"sqlite:///{dbfile}")
    with new_session(engine) as s:
        seed(s, build_org(s))
        s.commit()
    out = tmp_path / "out"
    argv = [
        "report",
        "--cadence",
        "monthly",
        "--period",
        "2025-09",
        "--out",
        str(out),
        "--now",
        "2025-10-01T08:30",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["period"] == "2025-09" and summary["region_code"] == "D1"
    assert summary["bulletin_number"] == "罗应急通〔2025〕1号"
    assert summary["summary"]["closure_rate"] == 0.5714
    files = {kind: Path(path) for kind, path in summary["files"].items()}
    assert set(files) == {"html", "pdf", "xlsx", "bulletin_html", "bulletin_pdf"}
    assert files["pdf"] == out / "report-monthly-2025-09-D1.pdf"
    assert files["bulletin_pdf"] == out / "report-monthly-2025-09-D1-bulletin.pdf"
    assert "57.14%" in files["html"].read_text(encoding="utf-8")
    assert files["pdf"].read_bytes().startswith(b"%PDF")
    assert files["bulletin_pdf"].read_bytes().startswith(b"%PDF")
    assert load_workbook(files["xlsx"])["概览"]["B2"].value == 8
    engine.dispose()


def test_report_as_of_a_stated_time_and_never_later_than_now(dbfile, tmp_path, capsys):
    from openpyxl import load_workbook

    from closeloop.db import make_engine, new_session, upgrade
    from tests.factories import build_org
    from tests.reports.seed import seed

    upgrade(f"sqlite:///{dbfile}")
    engine = make_engine(f"sqlite:///{dbfile}")
    with new_session(engine) as s:
        seed(s, build_org(s))
        s.commit()
    engine.dispose()
    base = [
        "report",
        "--cadence",
        "monthly",
        "--period",
        "2025-09",
        "--out",
        str(tmp_path),
        "--now",
        "2025-10-01T08:30",
    ]
    assert main([*base, "--as-of", "2025-10-02T00:00"]) == 2
    assert "统计时点不能晚于生成时间" in capsys.readouterr().err
    assert main([*base, "--as-of", "2025-09-20T12:00"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    info = {r[0]: r[1] for r in load_workbook(files["xlsx"])["概览"].iter_rows(values_only=True)}
    assert info["统计时点"] == "2025年9月20日 12:00（北京时间）"


def test_report_refuses_a_bad_period(dbfile, tmp_path, capsys):
    argv = ["report", "--cadence", "weekly", "--period", "2025-09", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "报告期无效" in err and "2025-W40" in err
    assert not dbfile.exists()  # refused before touching the database


def test_metrics_prints_the_api_figures(dbfile, capsys, monkeypatch):
    from closeloop.config import get_settings
    from closeloop.db import make_engine, new_session, upgrade

    monkeypatch.setenv("CLOSELOOP_RANK_MIN_ACCEPTED", "1")  # a handful of cases per street
    get_settings.cache_clear()
    from tests.factories import build_org
    from tests.reports.seed import seed

    upgrade(f"sqlite:///{dbfile}")
    engine = make_engine(f"sqlite:///{dbfile}")
    with new_session(engine) as s:
        seed(s, build_org(s))
        s.commit()
    engine.dispose()
    argv = [
        "metrics",
        "--from",
        "2025-09-01",
        "--to",
        "2025-09-30",
        "--group-by",
        "street",
        "--as-of",
        "2025-10-01T08:30",
    ]
    assert main(argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["from"] == "2025-09-01" and body["total"]["closure_rate"] == 0.5714
    assert body["as_of"] == "2025-10-01T08:30:00+08:00"
    assert [g["rank"] for g in body["groups"] if g["rank"] is not None] == [1, 2]
    assert main(["metrics", "--from", "2025-09-30", "--to", "2025-09-01"]) == 2
    assert "'to' is before 'from'" in capsys.readouterr().err
