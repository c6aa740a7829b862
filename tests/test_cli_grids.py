"""`closeloop grids import FILE.geojson`."""

import json
import sqlite3
from pathlib import Path

import pytest

from cli import main
from closeloop.config import get_settings
from closeloop.db import make_engine, new_session
from tests.factories import build_org
from tests.geo.boxes import GEOMETRY, collection, feature


@pytest.fixture
def dbfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert main(["init", "--admin-user", "root", "--admin-password", "a-long-password"]) == 0
    with new_session(make_engine(f"sqlite:///{path}")) as s:
        build_org(s)
        s.commit()
    return path


def grids(dbfile: Path) -> list[str]:
    rows = sqlite3.connect(dbfile).execute("select grid_code from grid_geometry order by 1")
    return [r[0] for r in rows]


def test_a_geojson_file_imports(dbfile, tmp_path, capsys) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection()), encoding="utf-8")
    assert main(["grids", "import", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"imported": 3, "rejected": []}
    assert grids(dbfile) == ["G1", "G2", "G3"]


def test_a_bad_feature_exits_2_listing_it_and_writes_nothing(dbfile, tmp_path, capsys) -> None:
    body = collection()
    body["features"].append(feature("G1", GEOMETRY["G2"]))
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(body), encoding="utf-8")
    assert main(["grids", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "feature 3 (G1)" in err and "repeats feature 0" in err
    assert grids(dbfile) == []
    path.write_text("not json", encoding="utf-8")
    assert main(["grids", "import", str(path)]) == 2
    assert "not GeoJSON" in capsys.readouterr().err
