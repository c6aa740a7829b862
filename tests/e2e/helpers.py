"""What the browser tests do again and again: log in, submit a form, read the database, make a
photo. Selectors follow the pages' `data-testid` attributes (api/web/templates)."""

import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.clock import FixedClock
from closeloop.db import new_session
from models.case import Case
from models.history import CaseHistory


@dataclass
class LiveServer:
    """The running app: its address, its database and the clock it reads."""

    url: str
    engine: Engine
    clock: FixedClock
    passwords: dict[str, str] = field(default_factory=dict)

    def password(self, username: str) -> str:
        return self.passwords[username]


def png(width: int = 160, height: int = 120, seed: int = 0) -> bytes:
    """A real PNG picture made with zlib and struct only: a street scene in flat colours (sky,
    wall, pavement and a stall whose colour and place follow `seed`), which stays crisp in the
    README's 256-colour screenshots."""
    stall = ((200, 90, 40), (60, 140, 80), (70, 90, 170), (180, 150, 40))[seed % 4]
    left = 20 + (seed * 7) % (width - 70)
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            if y < height // 4:
                colour = (150, 190, 225)  # sky
            elif y < height * 3 // 5:
                colour = (205, 195, 175) if (x // 20 + y // 15) % 2 else (190, 180, 160)  # wall
            else:
                colour = (120, 120, 125) if y % 24 else (235, 235, 235)  # pavement, kerb lines
            if left <= x < left + 50 and height // 2 <= y < height * 4 // 5:
                colour = stall
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def photo(name: str, seed: int = 0) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/png", "buffer": png(seed=seed)}


# How long a browser test waits for a page, an element or a condition before it fails. A passing
# test never waits this long; a CI machine whose two cores also run the other half of the suite
# (and PostgreSQL, and the other worker's browser) has taken over 10 s for a login's redirect and
# 15 s for a service worker to take control, where an idle one takes well under a second.
PATIENCE_MS = 30_000


def by_id(testid: str) -> str:
    return f'[data-testid="{testid}"]'


def click_and_wait(page: Any, selector: str) -> Any:
    """Click a submit button and wait for the page the form leads to; returns the response."""
    with page.expect_navigation(wait_until="load") as nav:
        page.locator(selector).first.click()
    return nav.value


def login(page: Any, live: LiveServer, username: str) -> None:
    page.goto("/login")
    page.fill(by_id("login-username"), username)
    page.fill(by_id("login-password"), live.password(username))
    click_and_wait(page, by_id("login-submit"))
    assert "/login" not in page.url, page.inner_text("main")


def no_horizontal_scroll(page: Any, width: int = 360) -> int:
    """The page's scroll width; a phone page must not be wider than the phone."""
    scroll = int(page.evaluate("document.documentElement.scrollWidth"))
    assert scroll <= width, f"{page.url} is {scroll} px wide at a {width} px viewport"
    return scroll


def state_of(page: Any, scope: str = "") -> str:
    badge = page.locator(f"{scope} {by_id('state-badge')}".strip()).first
    return str(badge.get_attribute("data-state"))


def row(page: Any, case_id: int, scope: str = "") -> Any:
    return page.locator(f'{scope} [data-testid="case-row"][data-case-id="{case_id}"]'.strip())


def figure(page: Any, testid: str) -> str:
    return page.locator(by_id(testid)).first.inner_text().strip()


def count(text: str) -> int:
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits, f"no number in {text!r}"
    return int(digits)


def load_case(live: LiveServer, case_id: int) -> Case:
    with new_session(live.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def actions_of(live: LiveServer, case_id: int) -> list[tuple[str, str | None, str | None]]:
    with new_session(live.engine) as session:
        rows = session.exec(
            select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(col(CaseHistory.seq))
        )
        return [(h.action, h.from_state, h.to_state) for h in rows]


def photo_widths(page: Any) -> list[int]:
    """Waits until every photo on the page has loaded (or failed) and gives their pixel widths:
    0 is a photo the browser could not show. (They load lazily: scroll them into view first.)"""
    for img in page.locator(by_id("photo")).all():
        img.scroll_into_view_if_needed()
    wait_until(
        page, "[...document.querySelectorAll('[data-testid=photo]')].every((img) => img.complete)"
    )
    return list(
        page.evaluate(
            "[...document.querySelectorAll('[data-testid=photo]')].map((img) => img.naturalWidth)"
        )
    )


def wait_until(page: Any, expression: str, timeout_ms: int = PATIENCE_MS) -> None:
    """Poll a JavaScript expression until it is true. Playwright's wait_for_function re-evaluates
    its predicate with eval() inside the page once it has to poll, which the pages' Content
    Security Policy (script-src 'self', no 'unsafe-eval') refuses — so it failed whenever the
    condition was not already true at the first check. page.evaluate is not subject to it."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(50)
