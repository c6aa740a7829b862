"""End-to-end harness: the real app under uvicorn on loopback, driven by headless Chromium.

- The server is one process (a uvicorn thread inside pytest) on a fresh **SQLite** file: these
  tests run on SQLite only. The PostgreSQL half of the suite is exercised by the service and API
  tests; what the browser tests add is the pages, the cookies and the forms, not the database.
- The database holds the demo district (`closeloop.demo.load_demo`, 罗湖区, 300 cases walked through
  the real services) so that every page shows realistic data and the screenshots mean something.
  Its passwords are random per run; `live.password(username)` gives them.
- Time is a settable `FixedClock` (`live.clock`), starting on a Tuesday morning in Shanghai;
  tests advance it between steps so that deadlines and the timeline are deterministic.
- Chromium is Debian's (`/usr/bin/chromium`, installed by `scripts/setup --test`), driven by
  Playwright's Python package with `executable_path`; Playwright's own browser download is never
  used. Without Chromium the tests fail in CI (CI=true or CLOSELOOP_REQUIRE_PG=1) and are skipped,
  saying so, on a laptop.
- Screenshots go to `artifacts/screenshots/` under the repository, or to `$CLOSELOOP_ARTIFACTS`
  (`scripts/screenshots` points it at `docs/screenshots/`). A failed test leaves a screenshot and
  the HTML of each page it had open in `artifacts/failures/`.
"""

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from closeloop.clock import FixedClock
from closeloop.config import get_settings
from closeloop.db import make_engine, upgrade
from tests.e2e.helpers import PATIENCE_MS, LiveServer

REPO = Path(__file__).resolve().parents[2]
REQUIRE_BROWSER = (
    os.environ.get("CI", "").lower() == "true" or os.environ.get("CLOSELOOP_REQUIRE_PG") == "1"
)
# 10:00 Shanghai on Tuesday 18 November 2025, an ordinary working day mid-month.
E2E_NOW = datetime(2025, 11, 18, 2, 0, tzinfo=UTC)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 780}
DESK = {"width": 1280, "height": 900}


def chromium_path() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if os.path.exists(found) else None


def artifacts_dir() -> Path:
    configured = os.environ.get("CLOSELOOP_ARTIFACTS")
    path = Path(configured) if configured else REPO / "artifacts" / "screenshots"
    if not path.is_absolute():
        path = REPO / path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _settings_env() -> Iterator[None]:
    """Overrides the suite's per-test data directory: the live server keeps one for the package
    (the demo's photos are stored once, at start-up)."""
    yield


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_healthy(
    url: str, stopped: Callable[[], str | None], timeout: float = 20.0, pause: float = 0.05
) -> None:
    """Until `url`/healthz answers 200; `stopped()` says why the server is gone (None while it
    runs), so a server that died is reported at once with its reason, not after the timeout."""
    deadline = time.monotonic() + timeout
    # One client for every try: httpx.get builds a client, and its TLS context (50 ms of CPU),
    # each time — beside the server starting in this process.
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            why = stopped()
            if why is not None:
                raise RuntimeError(f"the server stopped during start-up: {why}")
            try:
                if http.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(pause)
    raise RuntimeError(f"the server at {url} did not answer /healthz within {timeout} s")


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app under uvicorn in a thread on a free loopback port; yields its base URL."""
    sock = _free_socket()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        wait_healthy(base, lambda: None if thread.is_alive() else "its thread ended")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# The demo district loaded once per test run and copied for every package of tests that serves
# it: load_demo is deterministic (seed, E2E_NOW), so a copy is the same district, and a copy takes
# milliseconds where a load takes ~20-30 s. The first worker to need it loads it under a file lock
# and keeps it in the run's temporary folder (shared by pytest-xdist's workers); the others wait
# for it and copy it. Each server still gets its own database and files, so no test sees
# another's changes.


def _template(factory: pytest.TempPathFactory) -> Path:
    """The kept demo: beside the workers' own temporary folders under xdist (the run's folder),
    in this process's folder otherwise (a folder shared by separate runs could hold another
    checkout's demo)."""
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / "e2e-demo-template"


@contextmanager
def _demo_lock(factory: pytest.TempPathFactory) -> Iterator[None]:
    import fcntl

    with open(f"{_template(factory)}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _keep_demo(factory: pytest.TempPathFactory, root: Path, passwords: dict[str, str]) -> None:
    keep = _template(factory)
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir()
    _sqlite_copy(root / "e2e.db", keep / "e2e.db")
    if (root / "data").exists():
        shutil.copytree(root / "data", keep / "data")
    (keep / "passwords.json").write_text(json.dumps(passwords))  # last: the copy is complete


def _demo_copy(factory: pytest.TempPathFactory, root: Path) -> dict[str, str] | None:
    keep = _template(factory)
    if not (keep / "passwords.json").exists():
        return None
    _sqlite_copy(keep / "e2e.db", root / "e2e.db")
    if (keep / "data").exists():
        shutil.copytree(keep / "data", root / "data")
    passwords: dict[str, str] = json.loads((keep / "passwords.json").read_text())
    return passwords


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup (WAL content included)."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app (`api.app.create_app`) on a free loopback port, over the demo district."""
    from api.app import create_app
    from closeloop.demo.service import load_demo

    root = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("CLOSELOOP_DATA_DIR", str(root / "data"))
    mp.setenv("CLOSELOOP_SCHEDULER", "off")
    get_settings.cache_clear()
    url = f"sqlite:///{root / 'e2e.db'}"
    with _demo_lock(tmp_path_factory):
        passwords = _demo_copy(tmp_path_factory, root)
        if passwords is None:  # the first in this run: load it, and keep a copy of the result
            upgrade(url)
            engine = make_engine(url)
            passwords = {u.username: u.password for u in load_demo(engine, now=E2E_NOW)}
            engine.dispose()
            _keep_demo(tmp_path_factory, root, passwords)
    engine = make_engine(url)
    clock = FixedClock(E2E_NOW)
    app = create_app(engine=engine, clock=clock)

    try:
        with serving(app) as base:
            yield LiveServer(base, engine, clock, dict(passwords))
    finally:
        engine.dispose()
        mp.undo()
        get_settings.cache_clear()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = (
            "Chromium is not installed (/usr/bin/chromium): `bash scripts/setup --test` installs "
            "Debian's chromium package"
        )
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    shutil.rmtree(REPO / "artifacts" / "failures", ignore_errors=True)  # only this run's failures

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


def _keep_failure(request: pytest.FixtureRequest, contexts: list[Any]) -> None:
    """A failed test leaves a screenshot and the HTML of every page it had open."""
    folder = REPO / "artifacts" / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for i, page in enumerate(p for c in contexts for p in c.pages):
        try:
            page.screenshot(path=str(folder / f"{name}-{i}.png"), full_page=True)
            (folder / f"{name}-{i}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        except Exception:  # a page that cannot be saved must not hide the test's own failure
            continue


@pytest.fixture
def new_page(
    browser: Any, live: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """new_page("phone" | "desk") → a Page in a fresh browser context (own cookies) whose
    relative URLs resolve against the live server. Phone: 360×780 (the grid worker); desk:
    1280×900 (dispatcher, handler, supervisor). A request to anywhere but the live server is
    refused and listed in `page.outside_requests`."""
    contexts: list[Any] = []

    def make(kind: str = "desk") -> Any:
        context = browser.new_context(
            base_url=live.url,
            viewport=PHONE if kind == "phone" else DESK,
            device_scale_factor=1,
            is_mobile=kind == "phone",
            has_touch=kind == "phone",
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(PATIENCE_MS)
        # Nothing may come from outside (no CDN): such requests are refused and recorded.
        outside: list[str] = []

        def refuse(route: Any) -> None:
            outside.append(route.request.url)
            route.abort()

        context.route(re.compile(rf"^(?!{re.escape(live.url)}/)(?!data:|blob:).*"), refuse)
        contexts.append(context)
        page = context.new_page()
        page.outside_requests = outside
        return page

    yield make
    if request.node.stash.get(FAILED, False):
        _keep_failure(request, contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """shot(page, "name") saves a PNG of the page as it is now into the artefacts folder."""
    folder = artifacts_dir()

    def take(page: Any, name: str, *, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
