"""closeloop/backup.py and `closeloop backup | restore`: backup → restore into an empty place →
every table row for row and every file byte for byte, on SQLite and PostgreSQL, also with writes
running during the backup; refusals of non-empty targets and of corrupt or incomplete backups."""

import hashlib
import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select

from closeloop import backup as bk
from closeloop.auth import service as auth
from closeloop.cases import attachments
from closeloop.config import get_settings
from closeloop.db import make_engine, new_session
from closeloop.errors import Conflict, Invalid
from models.attachment import Attachment
from models.case import Case
from models.enums import ReportStatus
from models.history import CaseHistory
from models.report import Report
from models.user import User
from tests.conftest import _create_pg_database
from tests.factories import NOW, Org, act, new_case


def _png(n: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + n.to_bytes(4, "big") * 16


def _upload(session: Session, org, case: Case, n: int, by: str = "rep1") -> None:  # type: ignore[no-untyped-def]
    assert case.id is not None
    attachments.add_attachment(
        session,
        actor=org[by],
        case_id=case.id,
        filename=f"photo-{n}.png",
        stream=io.BytesIO(_png(n)),
        now=NOW,
    )


def _report(session: Session) -> None:
    """A ready report with its files stored as the generation stores them."""
    from closeloop.reports.making import _store
    from closeloop.reports.stored import report_dir

    row = Report(
        cadence="monthly",
        period="2025-09",
        region_code="D1",
        date_from=NOW - timedelta(days=30),
        date_to=NOW,
        as_of=NOW,
        generated_at=NOW,
        status=ReportStatus.generating,
        title="9月报告",
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    blobs = {"html": "<p>报告</p>".encode(), "pdf": b"%PDF-1.4 fake", "xlsx": b"PK\x03\x04xl"}
    row.files = _store(report_dir(get_settings(), row.id), blobs)
    row.status = ReportStatus.ready
    session.add(row)


def _fill(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with new_session(engine) as s:
        for i in range(4):
            case = new_case(s, org)
            _upload(s, org, case, i)
            if i % 2:
                act(s, org, case, "dispatch", "disp", unit_code="ZJ")
        _upload(s, org, case, 0)  # the same content twice: stored once
        _report(s)
        s.commit()


def _empty_target(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'closeloop.db'}"
    return _create_pg_database()


def _tables() -> list[str]:
    return ["alembic_version", *(t.name for t in SQLModel.metadata.sorted_tables)]


def _rows(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
    return sorted((tuple(r) for r in rows), key=repr)


def _files(data_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(data_dir).as_posix(): p.read_bytes()
        for folder in bk.FILE_FOLDERS
        for p in sorted((data_dir / folder).rglob("*"))
        if p.is_file()
    }


def test_backup_then_restore_into_an_empty_place_gives_every_row_and_file_back(
    engine: Engine, db_url: str, org, tmp_path: Path
) -> None:
    _fill(engine, org)
    data_dir = get_settings().data_dir
    manifest = bk.backup(db_url, data_dir, tmp_path / "bk")

    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert manifest["database"] == kind and manifest["version"] == bk.VERSION
    assert manifest["schema_revision"] and manifest["created_at"]
    listed = {e["path"]: e for e in manifest["files"]}
    assert len([p for p in listed if p.startswith("files/attachments/")]) == 4
    assert len([p for p in listed if p.startswith("files/reports/")]) == 3
    on_disk = json.loads((tmp_path / "bk" / bk.MANIFEST).read_text(encoding="utf-8"))
    assert on_disk["files"] == manifest["files"]

    target = _empty_target(db_url, tmp_path)
    restored_dir = tmp_path / "restored-data"
    result = bk.restore(target, restored_dir, tmp_path / "bk")
    assert result["files"] == 7

    restored = make_engine(target)
    try:
        for table in _tables():
            assert _rows(restored, table) == _rows(engine, table), table
        assert _files(restored_dir) == _files(data_dir)
        assert len(_files(restored_dir)) == 7
        if kind == "postgresql":  # analyzed after pg_restore: planned on its rows at once
            with restored.connect() as conn:  # (a dump holds no column statistics)
                analyzed = conn.execute(
                    text(
                        "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = 'public'"
                    )
                ).scalar_one()
            assert analyzed == len([t for t in _tables() if _rows(engine, t)])
        # The restored database goes on: sequences restored, a new case is numbered after.
        with new_session(restored) as s:
            before = max(c.id or 0 for c in s.exec(select(Case)))
            users = Org(users={u.username: auth.principal_of(s, u) for u in s.exec(select(User))})
            assert (new_case(s, users).id or 0) > before
            s.commit()
    finally:
        restored.dispose()


def test_restore_refuses_a_non_empty_database_or_data_dir_unless_forced(
    engine: Engine, db_url: str, org, tmp_path: Path
) -> None:
    _fill(engine, org)
    data_dir = get_settings().data_dir
    bk.backup(db_url, data_dir, tmp_path / "bk")
    before = {t: _rows(engine, t) for t in ("case", "attachment")}
    # Over the database it came from (not empty), data dir empty: refused, nothing changed.
    with pytest.raises(Conflict) as refused:
        bk.restore(db_url, tmp_path / "other-data", tmp_path / "bk")
    assert "not empty" in refused.value.detail and "--force" in refused.value.detail
    assert {t: _rows(engine, t) for t in before} == before
    assert not (tmp_path / "other-data").exists()
    # An empty database but a data dir with files: refused, naming the data dir.
    target = _empty_target(db_url, tmp_path)
    with pytest.raises(Conflict) as refused:
        bk.restore(target, data_dir, tmp_path / "bk")
    assert str(data_dir / "attachments") in refused.value.detail
    # --force replaces both.
    with new_session(engine) as s:
        case = new_case(s, org)
        _upload(s, org, case, 99)
        s.commit()
    bk.restore(db_url, data_dir, tmp_path / "bk", force=True)
    assert {t: _rows(engine, t) for t in before} == before
    assert _files(data_dir) == {
        e["path"][len("files/") :]: (tmp_path / "bk" / e["path"]).read_bytes()
        for e in json.loads((tmp_path / "bk" / bk.MANIFEST).read_text())["files"]
        if e["path"].startswith("files/")
    }


def test_a_corrupt_or_incomplete_backup_is_refused_naming_the_file(
    engine: Engine, db_url: str, org, tmp_path: Path
) -> None:
    _fill(engine, org)
    bk.backup(db_url, get_settings().data_dir, tmp_path / "bk")
    manifest = json.loads((tmp_path / "bk" / bk.MANIFEST).read_text())
    target = _empty_target(db_url, tmp_path)
    attachment = next(e["path"] for e in manifest["files"] if "attachments" in e["path"])

    blob = tmp_path / "bk" / attachment
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(Invalid) as refused:
        bk.restore(target, tmp_path / "d", tmp_path / "bk")
    assert attachment in refused.value.detail and "corrupt" in refused.value.detail
    blob.unlink()
    with pytest.raises(Invalid) as refused:
        bk.restore(target, tmp_path / "d", tmp_path / "bk")
    assert attachment in refused.value.detail and "missing" in refused.value.detail
    blob.write_bytes(original)
    database = manifest["files"][0]["path"]
    assert database in (bk.SQLITE_FILE, bk.PG_FILE)
    (tmp_path / "bk" / database).write_bytes(b"")
    with pytest.raises(Invalid) as refused:
        bk.restore(target, tmp_path / "d", tmp_path / "bk")
    assert database in refused.value.detail
    (tmp_path / "bk" / bk.MANIFEST).unlink()
    with pytest.raises(Invalid) as refused:
        bk.restore(target, tmp_path / "d", tmp_path / "bk")
    assert bk.MANIFEST in refused.value.detail and "not a complete backup" in refused.value.detail
    # Nothing was written by any refusal.
    assert not (tmp_path / "d").exists()
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "restored").exists()
    else:
        empty = make_engine(target)
        with empty.connect() as conn:
            objects = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar()
        empty.dispose()
        assert objects == 0


def test_a_backup_never_writes_into_a_folder_holding_something(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "old.txt").write_text("x")
    with pytest.raises(Conflict):
        bk.backup(db_url, get_settings().data_dir, tmp_path / "bk")


def _writer(engine: Engine, org, stop: threading.Event, done: list[int], errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Files cases, uploads evidence and dispatches, each in its own transaction, until told."""
    n = 1000
    while not stop.is_set():
        n += 1
        try:
            with new_session(engine) as s:
                case = new_case(s, org)
                _upload(s, org, case, n)
                if n % 2:
                    act(s, org, case, "dispatch", "disp", unit_code="ZJ")
                s.commit()
            done.append(n)
        except Exception as exc:  # noqa: BLE001  (reported by the test)
            errors.append(repr(exc))
            return


def _check_whole(engine: Engine, data_dir: Path) -> int:
    """Every attachment's file present and equal, every case's history complete and matching
    its state; returns the number of cases."""
    with new_session(engine) as s:
        cases = list(s.exec(select(Case)))
        for row in s.exec(select(Attachment)):
            blob = attachments.blob_path(
                get_settings().model_copy(update={"data_dir": data_dir}), row.sha256
            )
            assert blob.is_file(), blob
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == row.sha256
            assert blob.stat().st_size == row.size
        for case in cases:
            history = list(
                s.exec(
                    select(CaseHistory)
                    .where(CaseHistory.case_id == case.id)
                    .order_by(CaseHistory.seq)
                )  # type: ignore[arg-type]
            )
            assert [h.seq for h in history] == list(range(1, len(history) + 1)), case.id
            states = [h.to_state for h in history if h.to_state]
            assert states and states[-1] == case.state, case.id
            count = s.exec(select(Attachment).where(Attachment.case_id == case.id)).all()
            assert len(count) == 1, case.id  # each case of the writer: filed with its upload
    return len(cases)


def test_a_backup_taken_while_writes_run_restores_a_consistent_snapshot(
    engine: Engine, db_url: str, org, tmp_path: Path
) -> None:
    data_dir = get_settings().data_dir
    stop = threading.Event()
    done: list[int] = []
    errors: list[str] = []
    writer = threading.Thread(target=_writer, args=(engine, org, stop, done, errors))
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while len(done) < 5 and not errors and time.monotonic() < deadline:
            time.sleep(0.05)
        bk.backup(db_url, data_dir, tmp_path / "bk")
        at_backup = len(done)
        while len(done) < at_backup + 3 and not errors and time.monotonic() < deadline:
            time.sleep(0.05)  # writes go on after the snapshot
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not errors, errors
    assert len(done) >= at_backup + 3 >= 8

    target = _empty_target(db_url, tmp_path)
    restored_dir = tmp_path / "restored-data"
    bk.restore(target, restored_dir, tmp_path / "bk")
    restored = make_engine(target)
    try:
        cases = _check_whole(restored, restored_dir)
        assert 5 <= cases < len(done)  # a snapshot from the middle of the writes
        # The restored files are exactly those the snapshot names, byte for byte as the source.
        for rel, content in _files(restored_dir).items():
            assert (data_dir / rel).read_bytes() == content
        with restored.connect() as conn:
            attached = conn.execute(text("SELECT count(DISTINCT sha256) FROM attachment")).scalar()
        assert len(_files(restored_dir)) == attached
    finally:
        restored.dispose()
    _check_whole(engine, data_dir)


def test_the_command_line_backs_up_and_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    from cli import main

    db = tmp_path / "cli.db"
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    from closeloop.db import upgrade

    upgrade(f"sqlite:///{db}")
    assert main(["backup", str(tmp_path / "bk")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["database"] == "sqlite" and summary["files"] == 0
    assert main(["restore", str(tmp_path / "bk")]) == 2  # over the database it came from
    assert "--force" in capsys.readouterr().err
    monkeypatch.setenv("CLOSELOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    assert main(["restore", str(tmp_path / "bk")]) == 0
    assert json.loads(capsys.readouterr().out)["database"] == "sqlite"
    assert main(["restore", str(tmp_path / "bk"), "--force"]) == 0


def test_missing_or_old_postgresql_tools_are_named(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bk, "_candidates", lambda name: iter(()))
    with pytest.raises(Invalid) as refused:
        bk.pg_tool("pg_dump", pg_url)
    assert "pg_dump not found" in refused.value.detail
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    monkeypatch.setattr(bk, "_candidates", lambda name: iter([old]))
    with pytest.raises(Invalid) as refused:
        bk.backup(pg_url, tmp_path / "data", tmp_path / "bk")
    assert (
        "older than the database server" in refused.value.detail and "9.6" in refused.value.detail
    )
