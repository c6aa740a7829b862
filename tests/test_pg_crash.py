"""PostgreSQL killed (`pg_ctl stop -m immediate`) in the middle of actions: the requests under
way and those that follow answer 503 (not 500, not a hang), nothing is left half-written, and
once the server is back the same app serves again by itself (pool_pre_ping, no restart).

The test starts its OWN throwaway cluster (initdb in a temporary folder, a random port; as the
unprivileged user closeloop-pg through runuser when running as root, as .ci/run does): the
shared server of CLOSELOOP_TEST_PG_URL is never stopped. It runs where PostgreSQL 15's server
binaries are installed, and must run in CI (CI=true or CLOSELOOP_REQUIRE_PG=1)."""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from api.app import create_app
from closeloop.clock import FixedClock
from closeloop.db import make_engine, new_session, upgrade
from models.case import Case
from models.history import CaseHistory
from tests.conftest import DEFAULT_NOW, REQUIRE_PG
from tests.factories import PASSWORD, build_org

PGBIN = Path(os.environ.get("CLOSELOOP_PGBIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "closeloop-pg"
TIMEOUT = 15.0  # no request may take longer than this, PostgreSQL up or down


def _need(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"{reason}; CI requires the PostgreSQL crash test to run")
    pytest.skip(reason)


class Cluster:
    """A throwaway PostgreSQL cluster owned by this test."""

    def __init__(self) -> None:
        if not (PGBIN / "initdb").exists():
            _need(f"PostgreSQL server binaries not found in {PGBIN}")
        self.as_root = os.geteuid() == 0
        if self.as_root and shutil.which("runuser") is None:
            _need("running as root without runuser")
        if self.as_root:
            try:
                subprocess.run(["id", PG_USER], check=True, capture_output=True)
            except subprocess.CalledProcessError:
                _need(f"running as root and the user {PG_USER} does not exist (.ci/run makes it)")
        self.dir = Path(tempfile.mkdtemp(prefix="closeloop-pg-crash-"))
        if self.as_root:
            shutil.chown(self.dir, PG_USER)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+psycopg://closeloop@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(PGBIN / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", PG_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise AssertionError(f"{args[0]} failed: {result.stderr}\n{tail}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.dir / "data"), "-U", "closeloop", "-A", "trust", "-E", "UTF8"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=50"
        )
        data, log = str(self.dir / "data"), str(self.dir / "server.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")

    def kill(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")

    def remove(self) -> None:
        try:
            self.kill()
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        own.init()
        own.start()
        yield own
    finally:
        own.remove()


class Actions(threading.Thread):
    """Files a case and dispatches it, again and again, recording every answer."""

    def __init__(self, client: TestClient, rep: dict[str, str], disp: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client, self.rep, self.disp = client, rep, disp
        self.stop = threading.Event()
        self.answers: list[tuple[float, str, int, float]] = []  # (at, what, status, seconds)
        self.filed: dict[str, int] = {}  # title → id, of the cases answered 201
        self.dispatched: set[int] = set()  # ids answered 200 to dispatch
        self.error: BaseException | None = None

    def _call(self, what: str, path: str, headers: dict[str, str], body: dict) -> object:
        started = time.monotonic()
        r = self.client.post(path, headers=headers, json=body)
        self.answers.append((started, what, r.status_code, time.monotonic() - started))
        return r

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                title = f"崩溃测试 {n}"
                body = {
                    "kind": "event",
                    "title": title,
                    "description": "占道",
                    "category_code": "0101",
                    "grid_code": "G1",
                    "address": "东门路1号",
                }
                r = self._call("file", "/api/v1/cases", self.rep, body)
                if r.status_code != 201:  # type: ignore[attr-defined]
                    time.sleep(0.05)
                    continue
                case_id = int(r.json()["id"])  # type: ignore[attr-defined]
                self.filed[title] = case_id
                path = f"/api/v1/cases/{case_id}/actions/dispatch"
                r = self._call("dispatch", path, self.disp, {"unit_code": "ZJ"})
                if r.status_code == 200:  # type: ignore[attr-defined]
                    self.dispatched.add(case_id)
        except BaseException as exc:  # noqa: BLE001  (the test reports it)
            self.error = exc

    def count(self, status: int, since: float = 0.0) -> int:
        return sum(1 for at, _, s, _ in list(self.answers) if s == status and at >= since)


def _wait(condition, what: str, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_postgresql_killed_mid_actions_leaves_nothing_half_written_and_the_app_recovers(
    cluster: Cluster,
) -> None:
    upgrade(cluster.url)
    engine = make_engine(cluster.url)
    with new_session(engine) as s:
        build_org(s)
        s.commit()
    with TestClient(create_app(engine=engine, clock=FixedClock(DEFAULT_NOW))) as client:

        def token(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        actions = Actions(client, token("rep1"), token("disp"))
        actions.start()
        try:
            _wait(lambda: len(actions.dispatched) >= 3 or actions.error, "the first actions")
            cluster.kill()
            killed = time.monotonic()
            _wait(lambda: actions.count(503, since=killed) >= 5 or actions.error, "503s")
            cluster.start()
            back = time.monotonic()
            _wait(lambda: actions.count(201, since=back) >= 3 or actions.error, "served again")
        finally:
            actions.stop.set()
            actions.join(timeout=TIMEOUT * 2)
        assert actions.error is None, actions.error
        assert not actions.is_alive(), "a request hung"

    statuses = {s for _, _, s, _ in actions.answers}
    assert statuses <= {200, 201, 503}, sorted(actions.answers, key=lambda a: a[2])[-5:]
    assert max(seconds for *_, seconds in actions.answers) < TIMEOUT

    # Whole: every case answered 201 is there, every dispatch answered 200 took; every case's
    # history is complete (seq 1..n) and ends in the case's state; nothing points at nothing.
    with new_session(engine) as s:
        cases = {c.id: c for c in s.exec(select(Case))}
        titles = {c.title: c.id for c in cases.values()}
        for title, case_id in actions.filed.items():
            assert titles.get(title) == case_id, title
        for case_id in actions.dispatched:
            assert cases[case_id].state == "dispatched", case_id
        for case in cases.values():
            history = list(
                s.exec(
                    select(CaseHistory)
                    .where(CaseHistory.case_id == case.id)
                    .order_by(CaseHistory.seq)  # type: ignore[arg-type]
                )
            )
            assert [h.seq for h in history] == list(range(1, len(history) + 1)), case.id
            assert history[-1].to_state == case.state, case.id
            assert {"file"} <= {h.action for h in history}, case.id
        orphans = s.exec(
            text(  # type: ignore[call-overload]
                'SELECT count(*) FROM case_history h LEFT JOIN "case" c ON c.id = h.case_id '
                "WHERE c.id IS NULL"
            )
        ).one()[0]
        assert orphans == 0
    engine.dispose()
