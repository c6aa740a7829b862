"""`closeloop backup DIR` and `closeloop restore DIR`: a consistent copy of the database and of
the files it refers to, and its restoration into an empty place.

The database is copied first, as one snapshot (SQLite: the online backup API; PostgreSQL:
`pg_dump --format=custom` on a snapshot exported by a repeatable-read transaction, which also
reads the rows that name files). The files are copied after it: the evidence attachments
(data_dir/attachments/<sha[:2]>/<sha>) and the report files (data_dir/reports/<id>/<name>) that
snapshot refers to. Both are written once, before the row naming them commits (an attachment is
stored by its content hash; a report's folder is written in the transaction that makes it
ready and never rewritten), so every file the snapshot names is on disk when it is copied; each
is checked against the hash the database holds all the same, and a missing or changed one fails
the backup naming it. Letters and notices are rendered from the database and have no files.

The backup folder holds manifest.json (format version, schema revision, database kind, time,
every file with its size and SHA-256), written last: a folder without it is incomplete. Restore
verifies every file against the manifest before changing anything, and refuses a non-empty
database or data dir unless `force`.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

import closeloop
from closeloop.cases.attachments import blob_name
from closeloop.errors import Conflict, Invalid
from closeloop.reports.stored import report_folder
from closeloop.text import Msg

FORMAT = "closeloop-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES = "files"  # the copied files, by their path under the data dir
FILE_FOLDERS = ("attachments", "reports")  # what the data dir holds
CHUNK = 1024 * 1024
PG_BIN_DIRS = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class Snapshot:
    """What the database snapshot says: its schema revision and the files it refers to
    (path under the data dir → SHA-256)."""

    revision: list[str]
    files: dict[str, str]
    extra: dict[str, Any]


# ---------------------------------------------------------------------------- backup


def backup(url: str, data_dir: Path, dest: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Write a backup of the database at `url` and of the files under `data_dir` into `dest`
    (absent or empty); returns the manifest."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise Conflict(
            Msg(
                f"备份目录 {dest} 不是空的；请指定一个新的或空的目录",
                f"the backup folder {dest} is not empty; name a new or empty folder",
            )
        )
    dest.mkdir(parents=True, exist_ok=True)
    kind = _kind(url)
    if kind == "sqlite":
        snapshot = _backup_sqlite(url, dest / SQLITE_FILE)
        entries = [_entry(dest, dest / SQLITE_FILE)]
    else:
        snapshot = _backup_pg(url, dest / PG_FILE)
        entries = [_entry(dest, dest / PG_FILE)]
    entries += _copy_files(Path(data_dir), dest / FILES, snapshot.files)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "closeloop_version": closeloop.__version__,
        "schema_revision": snapshot.revision,
        "database": kind,
        "created_at": (now or datetime.now(UTC)).isoformat(),
        **snapshot.extra,
        "files": entries,
    }
    partial = dest / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(partial, dest / MANIFEST)  # last: a folder without it is an unfinished backup
    return manifest


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        if make_url(url).database in (None, "", ":memory:"):
            raise Invalid(
                Msg("内存数据库无法备份或恢复", "an in-memory database cannot be backed up")
            )
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise Invalid(Msg(f"不支持的数据库：{backend}", f"unsupported database: {backend}"))


def _sqlite_path(url: str) -> Path:
    return Path(str(make_url(url).database))


def _backup_sqlite(url: str, target: Path) -> Snapshot:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise Invalid(
            Msg(
                f"数据库文件 {source_path} 不存在",
                f"the database file {source_path} does not exist",
            )
        )
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        snapshot = _read_snapshot(copy.execute)
    finally:
        copy.close()
        source.close()
    return snapshot


def _read_snapshot(execute: Any) -> Snapshot:
    """The schema revision and the files named by the rows of one snapshot."""
    revision = sorted(str(r[0]) for r in execute("SELECT version_num FROM alembic_version"))
    files: dict[str, str] = {}
    for (sha,) in execute("SELECT DISTINCT sha256 FROM attachment"):
        files[blob_name(sha).as_posix()] = sha
    for report_id, stored in execute("SELECT id, files FROM report"):
        stored = json.loads(stored) if isinstance(stored, str) else (stored or {})
        for meta in stored.values():
            files[(report_folder(report_id) / meta["name"]).as_posix()] = meta["sha256"]
    return Snapshot(revision, files, {})


@contextmanager
def _pg(url: str, *, autocommit: bool = False) -> Iterator[Connection]:
    """One connection to the PostgreSQL database at `url`, closed with its engine after."""
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, poolclass=NullPool, **options)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _backup_pg(url: str, target: Path) -> Snapshot:
    pg_dump, dump_version = pg_tool("pg_dump", url)
    with _pg(url) as conn:
        # The dump and the rows naming files read one snapshot, held open while pg_dump runs.
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        snapshot = _read_snapshot(lambda sql: conn.execute(text(sql)).all())
        server = conn.execute(text("SHOW server_version")).scalar_one()
        _run(
            [pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={target}"],
            url,
            "pg_dump",
        )
        conn.rollback()
    extra = {"server_version": server, "pg_dump_version": dump_version}
    return Snapshot(snapshot.revision, snapshot.files, extra)


def _copy_files(data_dir: Path, dest: Path, wanted: dict[str, str]) -> list[dict[str, Any]]:
    entries = []
    problems = []
    for rel, sha in sorted(wanted.items()):
        source = data_dir / rel
        if not source.is_file():
            problems.append(f"{rel}: missing / 缺失")
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        size, digest = _copy(source, target)
        if digest != sha:
            problems.append(f"{rel}: content differs from the database's SHA-256 / 内容与记录不符")
            continue
        entries.append({"path": f"{FILES}/{rel}", "size": size, "sha256": digest})
    if problems:
        raise Invalid(
            Msg(
                f"数据库引用的文件有问题，备份未完成（数据目录 {data_dir}）："
                + "；".join(problems),
                f"files the database refers to are wrong, the backup is incomplete (data dir "
                f"{data_dir}): " + "; ".join(problems),
            )
        )
    return entries


def _copy(source: Path, target: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _entry(root: Path, path: Path) -> dict[str, Any]:
    size, digest = _hash(path)
    return {"path": path.relative_to(root).as_posix(), "size": size, "sha256": digest}


def _hash(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# ---------------------------------------------------------------------------- PostgreSQL tools


def _major(version: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    return int(match.group(1)) if match else 0


def _candidates(name: str) -> Iterable[Path]:
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)
    yield from sorted(Path("/").glob(f"{PG_BIN_DIRS.lstrip('/')}/{name}"), reverse=True)


def pg_tool(name: str, url: str) -> tuple[str, str]:
    """The pg_dump or pg_restore able to work with the server at `url` (same major version, or
    newer): from PATH or /usr/lib/postgresql/<n>/bin; a clear error when none is."""
    with _pg(url) as conn:
        server = str(conn.execute(text("SHOW server_version")).scalar_one())
    found: list[tuple[int, str, str]] = []
    for path in _candidates(name):
        try:
            out = subprocess.run(
                [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        found.append((_major(out.rsplit(" ", 1)[-1]), str(path), out))
    usable = sorted(f for f in found if f[0] >= _major(server))
    if usable:
        return usable[0][1], usable[0][2]
    if not found:
        raise Invalid(
            Msg(
                f"找不到 {name}（PATH 和 {PG_BIN_DIRS} 中都没有）；请安装 PostgreSQL {_major(server)} "
                "客户端（postgresql-client）",
                f"{name} not found on PATH or in {PG_BIN_DIRS}; install the PostgreSQL "
                f"{_major(server)} client tools (postgresql-client)",
            )
        )
    seen = ", ".join(f"{path} ({out})" for _, path, out in found)
    raise Invalid(
        Msg(
            f"{name} 版本低于数据库服务器 {server}（找到：{seen}）；请安装 PostgreSQL "
            f"{_major(server)} 或更新的客户端",
            f"{name} is older than the database server {server} (found: {seen}); install the "
            f"PostgreSQL {_major(server)} client tools or newer",
        )
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string for `url` (without its password, passed in PGPASSWORD)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], url: str, name: str) -> None:
    dsn, env = _libpq(url)
    result = subprocess.run(
        [*command, f"--dbname={dsn}"], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise Invalid(
            Msg(
                f"{name} 失败：{result.stderr.strip()[-2000:]}",
                f"{name} failed: {result.stderr.strip()[-2000:]}",
            )
        )


# ---------------------------------------------------------------------------- restore


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of the backup in `source`, every file it lists checked (size, SHA-256);
    a missing, incomplete or corrupt backup is refused naming the file."""
    path = Path(source) / MANIFEST
    if not path.is_file():
        raise Invalid(
            Msg(
                f"{source} 不是完整的备份：缺少 {MANIFEST}",
                f"{source} is not a complete backup: {MANIFEST} is missing",
            )
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        entries = [(str(e["path"]), int(e["size"]), str(e["sha256"])) for e in manifest["files"]]
        kind = manifest["database"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid(Msg(f"{path} 已损坏：{exc}", f"{path} is corrupt: {exc}")) from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise Invalid(
            Msg(
                f"{path} 不是本版本可读的备份（格式 {manifest.get('format')} "
                f"{manifest.get('version')}）",
                f"{path} is not a backup this version reads (format {manifest.get('format')} "
                f"{manifest.get('version')}, expected {FORMAT} {VERSION})",
            )
        )
    database = SQLITE_FILE if kind == "sqlite" else PG_FILE
    if database not in {p for p, _, _ in entries}:
        raise Invalid(
            Msg(f"备份清单缺少数据库文件 {database}", f"the manifest lists no {database}")
        )
    for rel, size, sha in entries:
        file = Path(source) / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise Invalid(Msg(f"备份清单中的路径无效：{rel}", f"bad path in the manifest: {rel}"))
        if not file.is_file():
            raise Invalid(
                Msg(f"备份不完整：缺少文件 {rel}", f"the backup is incomplete: {rel} is missing")
            )
        actual = _hash(file)
        if actual != (size, sha):
            raise Invalid(
                Msg(
                    f"备份已损坏：文件 {rel} 与清单不符（大小 {actual[0]}，应为 {size}）",
                    f"the backup is corrupt: {rel} does not match the manifest (size "
                    f"{actual[0]}, expected {size}; or its SHA-256 differs)",
                )
            )
    return dict(manifest)


def restore(url: str, data_dir: Path, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the backup in `source` into the database at `url` and `data_dir`, both empty
    (or replaced, with `force`); nothing is changed when the backup or a target is refused."""
    source, data_dir = Path(source), Path(data_dir)
    manifest = read_manifest(source)
    kind = _kind(url)
    if manifest["database"] != kind:
        raise Invalid(
            Msg(
                f"这是 {manifest['database']} 数据库的备份，不能恢复到 {kind}",
                f"this is a backup of a {manifest['database']} database; it cannot be restored "
                f"into {kind}",
            )
        )
    _check_revision(manifest.get("schema_revision") or [])
    if not force:
        _require_empty(url, kind, data_dir)
    if kind == "sqlite":
        _restore_sqlite(source / SQLITE_FILE, _sqlite_path(url))
    else:
        _restore_pg(source / PG_FILE, url, force=force)
    files = [e for e in manifest["files"] if str(e["path"]).startswith(f"{FILES}/")]
    _restore_files(source, files, data_dir, force=force)
    return {
        "database": kind,
        "schema_revision": manifest.get("schema_revision"),
        "created_at": manifest.get("created_at"),
        "files": len(files),
    }


def _check_revision(revision: list[str]) -> None:
    from alembic.script import ScriptDirectory

    from closeloop.db import alembic_config

    known = {
        s.revision
        for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
    }
    unknown = [r for r in revision if r not in known]
    if unknown:
        raise Invalid(
            Msg(
                f"备份的数据库结构版本 {', '.join(unknown)} 是更新的版本做的；请先升级 Closeloop",
                f"the backup's schema revision {', '.join(unknown)} is unknown to this version "
                "(made by a newer Closeloop); upgrade Closeloop first",
            )
        )


def _objects(url: str, kind: str) -> int:
    """How many tables, indexes, sequences… the database at `url` holds (0: empty)."""
    if kind == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return 0
        conn = sqlite3.connect(path)
        try:
            return int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        finally:
            conn.close()
    with _pg(url) as pg:
        return int(
            pg.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                    "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                    "AND n.nspname NOT LIKE 'pg_temp%'"
                )
            ).scalar_one()
        )


def _require_empty(url: str, kind: str, data_dir: Path) -> None:
    full = []
    objects = _objects(url, kind)
    if objects:
        name = _sqlite_path(url) if kind == "sqlite" else make_url(url).database
        full.append(f"database {name} ({objects} objects)")
    for folder in FILE_FOLDERS:
        if any(p.is_file() for p in (data_dir / folder).rglob("*")):
            full.append(f"data dir {data_dir / folder}")
    if full:
        raise Conflict(
            Msg(
                "恢复目标不是空的，未做任何更改：" + "；".join(full) + "。请恢复到空的数据库和"
                "数据目录，或加 --force 覆盖",
                "the restore target is not empty, nothing was changed: "
                + "; ".join(full)
                + ". Restore into an empty database and data dir, or pass --force to replace them",
            )
        )


def _restore_sqlite(copy: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    into = sqlite3.connect(target)
    try:
        source.backup(into)  # replaces every page of the target, in one step
        into.execute("PRAGMA journal_mode=WAL")
    finally:
        into.close()
        source.close()


def _restore_pg(dump: Path, url: str, *, force: bool) -> None:
    pg_restore, _ = pg_tool("pg_restore", url)
    if force:
        with _pg(url) as conn, conn.begin():
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    # One transaction: a restore that fails leaves the database as it was.
    command = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error"]
    _run([*command, "--single-transaction", str(dump)], url, "pg_restore")
    # A dump holds no planner statistics: without them the first queries are planned for
    # empty tables until autovacuum comes round (pg_restore's manual says to ANALYZE after).
    with _pg(url, autocommit=True) as conn:
        conn.execute(text("ANALYZE"))


def _restore_files(
    source: Path, files: list[dict[str, Any]], data_dir: Path, *, force: bool
) -> None:
    if force:
        for folder in FILE_FOLDERS:
            shutil.rmtree(data_dir / folder, ignore_errors=True)
    for entry in files:
        rel = str(entry["path"])[len(FILES) + 1 :]
        target = data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            with (source / entry["path"]).open("rb") as src:
                shutil.copyfileobj(src, tmp, CHUNK)
        os.replace(tmp.name, target)
