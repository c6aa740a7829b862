"""The README's "Setting up your district", followed as a bureau's IT staff would: the real command
line (`closeloop init`, then `closeloop serve` as its own process, on the real clock), then only the
pages in headless Chromium — the first-run steps, the template downloaded, filled in and imported,
the one-time passwords handed out and changed at the first login — up to a first event closed by
the grid worker, the dispatcher and the unit that the workbook created.

The template's example street is used as the district: filling it in with a real one changes the
codes and names, not the steps. The scheduler is switched off (CLOSELOOP_SCHEDULER=off) so that the
process does nothing the test does not ask for; the README's steps do not depend on it."""

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DESK, PHONE, REPO, wait_healthy
from tests.e2e.helpers import by_id, click_and_wait, photo, state_of

ADMIN, ADMIN_PASSWORD = "admin", "choose-a-long-password"
WORKER, DISPATCHER, HANDLER = "wgy01", "dispatch01", "cg01"  # the template's example users
TITLE = "东门中路水果摊占用盲道"


def _cli() -> list[str]:
    installed = Path(sys.executable).with_name("closeloop")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "cli"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Steps 1 and 2: `closeloop init` and `closeloop serve`, each a real process, in an empty
    folder (the database is ./closeloop.db there, the files ./data)."""
    folder = tmp_path_factory.mktemp("bureau")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSELOOP_")}
    env |= {"CLOSELOOP_SCHEDULER": "off", "PYTHONPATH": str(REPO)}
    init = subprocess.run(
        [*_cli(), "init", "--admin-user", ADMIN, "--admin-password", ADMIN_PASSWORD],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    assert (folder / "closeloop.db").exists()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(
            base,
            lambda: None if server.poll() is None else (folder / "serve.log").read_text(),
            timeout=90,
            pause=0.2,
        )
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _context(browser: Any, base: str, viewport: dict[str, int]) -> Any:
    return browser.new_context(
        base_url=base,
        viewport=viewport,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )


def _login(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.fill(by_id("login-username"), username)
    page.fill(by_id("login-password"), password)
    click_and_wait(page, by_id("login-submit"))
    assert "/login" not in page.url, page.inner_text("main")


def _first_login(page: Any, username: str, one_time: str) -> None:
    """A user from the workbook logs in with their one-time password and must choose their own."""
    _login(page, username, one_time)
    assert "/password" in page.url, page.url
    page.fill(by_id("password-old"), one_time)
    page.fill(by_id("password-new"), f"{username}-own-pass-2026")
    page.fill(by_id("password-repeat"), f"{username}-own-pass-2026")
    click_and_wait(page, by_id("password-submit"))
    assert "/password" not in page.url, page.inner_text("main")


def test_the_readme_setup_from_init_to_a_first_event_closed(
    browser: Any, served: str, tmp_path: Path
) -> None:
    contexts = [_context(browser, served, DESK) for _ in range(3)]
    phone_context = _context(browser, served, PHONE)
    try:
        admin, desk, unit = (c.new_page() for c in contexts)
        phone = phone_context.new_page()

        # 3. The administrator lands on the first-run steps and follows them.
        _login(admin, ADMIN, ADMIN_PASSWORD)
        assert "/admin" in admin.url, admin.url
        assert admin.locator(by_id("first-run")).is_visible()
        with admin.expect_download() as download:
            admin.locator(by_id("first-template")).click()
        workbook = tmp_path / "district.xlsx"
        download.value.save_as(workbook)
        assert workbook.read_bytes()[:2] == b"PK"
        click_and_wait(admin, by_id("first-import"))
        admin.locator(by_id("import-file")).set_input_files(str(workbook))
        response = click_and_wait(admin, by_id("import-submit"))
        assert response.status == 200, admin.inner_text("main")
        assert admin.locator(by_id("rejected-rows")).count() == 0
        counts = admin.locator(by_id("import-counts")).inner_text()
        assert re.search(r"\d", counts), counts
        one_time = {
            row.get_attribute("data-username"): row.locator("code").inner_text().strip()
            for row in admin.locator(by_id("import-password")).all()
        }
        assert {WORKER, DISPATCHER, HANDLER} <= set(one_time), one_time
        admin.goto("/")
        assert admin.locator(by_id("first-run")).count() == 0, "the first run is over"

        # 5.1 The grid worker chooses a password and files an event from the phone.
        _first_login(phone, WORKER, one_time[WORKER])
        phone.goto("/report/new")
        form = phone.locator(by_id("report-form"))
        form.locator(by_id("category-class")).select_option("01")
        form.locator(by_id("category-item")).select_option("0101")
        form.locator(by_id("title")).fill(TITLE)
        form.locator(by_id("address")).fill("东门中路 2035 号")
        form.locator(by_id("photos")).set_input_files([photo("before.png", seed=3)])
        click_and_wait(phone, by_id("report-submit"))
        assert "/cases/" in phone.url, phone.inner_text("main")
        case_id = int(phone.url.split("/cases/")[1].split("?")[0])
        assert state_of(phone) == "reported"

        # 5.2 The dispatcher dispatches it from the queue, the item's unit preselected.
        _first_login(desk, DISPATCHER, one_time[DISPATCHER])
        desk.goto("/queue")
        queued = desk.locator(f'{by_id("queue-new")} [data-case-id="{case_id}"]')
        assert queued.locator('[name="unit_code"]').input_value() == "LH-CG"
        click_and_wait(desk, f'[data-case-id="{case_id}"] {by_id("action-dispatch")}')

        # 5.3 The unit signs it in its inbox and submits the rectification.
        _first_login(unit, HANDLER, one_time[HANDLER])
        unit.goto("/inbox")
        click_and_wait(
            unit, f'{by_id("inbox-to-sign")} [data-case-id="{case_id}"] {by_id("action-sign")}'
        )
        unit.goto(f"/cases/{case_id}")
        assert state_of(unit) == "rectifying"
        submit = unit.locator(by_id("form-submit"))
        submit.locator('[name="note"]').fill("已劝离摊贩，盲道已清理")
        submit.locator(by_id("evidence")).set_input_files([photo("after.png", seed=7)])
        click_and_wait(unit, by_id("action-submit"))
        assert state_of(unit) == "verifying", unit.inner_text("main")

        # 5.4 The grid worker who filed it approves it: the event is closed.
        phone.goto(f"/cases/{case_id}")
        click_and_wait(phone, by_id("action-approve"))
        assert state_of(phone) == "closed", phone.inner_text("main")
    finally:
        for context in (*contexts, phone_context):
            context.close()
