"""`closeloop org template OUT.xlsx` and `closeloop org import FILE`."""

import json
import sqlite3
from pathlib import Path

import pytest

from cli import main
from closeloop.config import get_settings
from tests.org.test_workbook import REGIONS, csv_bytes


@pytest.fixture
def dbfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert main(["init", "--admin-user", "root", "--admin-password", "a-long-password"]) == 0
    return path


def regions(dbfile: Path) -> list[str]:
    return [r[0] for r in sqlite3.connect(dbfile).execute("select code from region order by path")]


def test_the_template_is_written_and_imports_then_updates(dbfile, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "org.xlsx"
    assert main(["org", "template", str(out)]) == 0
    assert out.read_bytes()[:2] == b"PK"
    assert capsys.readouterr().out.strip() == str(out)
    assert main(["org", "import", str(out)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] == {"regions": 7, "units": 3, "categories": 6, "users": 5}
    assert len(first["passwords"]) == 5
    assert regions(dbfile)[0] == "440303"
    assert main(["org", "import", str(out)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["updated"] == first["created"]
    assert second["created"] == {"regions": 0, "units": 0, "categories": 0, "users": 0}


def test_rejected_rows_exit_2_and_nothing_is_committed(dbfile, tmp_path, capsys):
    capsys.readouterr()
    path = tmp_path / "regions.csv"
    path.write_bytes(csv_bytes([*REGIONS, ["G3", "网格三", "grid", "NOPE"]]))
    assert main(["org", "import", str(path)]) == 2
    result = json.loads(capsys.readouterr().out)
    assert [(r["sheet"], r["row"]) for r in result["rejected"]] == [("regions", 7)]
    assert regions(dbfile) == []


def test_a_csv_with_its_sheet_named(dbfile, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes(REGIONS))
    assert main(["org", "import", str(path), "--sheet", "区域"]) == 0
    assert len(regions(dbfile)) == 5


def test_an_unreadable_file_exits_2_with_the_reason(dbfile, tmp_path, capsys):
    path = tmp_path / "org.txt"
    path.write_text("hello")
    assert main(["org", "import", str(path)]) == 2
    assert ".xlsx" in capsys.readouterr().err
