"""The tables behind the demo district (closeloop.demo), read from district.toml beside this
module into typed records: places, units, the patrol checklist, people, the texts cases are
written with, and the paths cases take through the lifecycle. Also the grids and accounts they
imply, and the small files (photos, a reply document) the demo attaches as evidence.
"""

import struct
import tomllib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, NamedTuple

from models.case import Location
from models.enums import CaseKind, Grade, Role

MARKER_KEY = "demo_district"  # app_setting row written when the demo is loaded


class Community(NamedTuple):
    code: str
    name: str
    roads: tuple[str, ...]
    places: tuple[str, ...]
    lat: float
    lon: float


class Street(NamedTuple):
    code: str
    name: str
    office: str  # the unit code of the street office (街道办事处)
    communities: tuple[Community, ...]


class Item(NamedTuple):
    """An item of the grid patrol checklist (网格巡查事项清单); district.toml says what each
    field means."""

    code: str
    name: str
    unit: str
    limit_days: int
    sign_hours: float
    weight: int
    hazard: float  # share of cases found by inspection as hazards
    major: bool  # may be a major hazard (重大事故隐患)
    urgent: float  # share of urgent cases
    titles: tuple[str, ...]
    texts: tuple[str, ...]


def _tables() -> dict[str, Any]:
    text = resources.files("closeloop.demo").joinpath("district.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _tuples(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _pair(raw: list[str]) -> tuple[str, str]:
    first, second = raw
    return first, second


def _street(raw: dict[str, Any]) -> Street:
    communities = tuple(Community(**_tuples(c)) for c in raw["communities"])
    return Street(raw["code"], raw["name"], raw["office"], communities)


_T = _tables()
_TEXTS: dict[str, Any] = _T["texts"]
_PEOPLE: dict[str, Any] = _T["people"]

DISTRICT: tuple[str, str] = (_T["district"]["code"], _T["district"]["name"])
STREETS: tuple[Street, ...] = tuple(_street(s) for s in _T["streets"])
GRID_NUMERALS: tuple[str, ...] = tuple(_T["district"]["grid_numerals"])
SHOPS: tuple[str, ...] = tuple(_T["district"]["shops"])
MAJOR_HAZARDS: int = _T["district"]["major_hazards"]

UNITS: tuple[tuple[str, str, str], ...] = tuple(
    (u["code"], u["name"], u["short_name"]) for u in _T["units"]
)
UNIT_NAMES = {code: name for code, name, _ in UNITS}
STREET_UNIT: str = _T["district"]["street_unit"]  # routed to the street office of the case's street
STREET_FALLBACK: str = _T["district"]["street_fallback"]  # default unit for street-routed items
CLASSES: tuple[tuple[str, str, tuple[Item, ...]], ...] = tuple(
    (c["code"], c["name"], tuple(Item(**_tuples(it)) for it in c["items"])) for c in _T["classes"]
)

# People. Usernames are stable (they name the demo's accounts); passwords are never stored.
ADMIN, DISPATCHER, SUPERVISOR = (_pair(_PEOPLE[k]) for k in ("admin", "dispatcher", "supervisor"))
HANDLERS = {unit: _pair(person) for unit, person in _PEOPLE["handlers"].items()}  # username, name
GRID_WORKERS: tuple[str, ...] = tuple(_PEOPLE["grid_workers"])
ROLE_NAMES: dict[Role, str] = {Role(r): name for r, name in _PEOPLE["role_names"].items()}

HOTLINE: tuple[str, ...] = tuple(_TEXTS["hotline"])
INSPECTION: tuple[str, ...] = tuple(_TEXTS["inspection"])
RETURN_REASON: str = _TEXTS["return"]

# The paths cases take (PLAN: how many; PATHS: the steps after filing), who takes each step and
# what it says, and how long before `now` a path's case is filed.
PLAN: dict[str, int] = {name: p["count"] for name, p in _T["paths"].items()}
PATHS: dict[str, list[str]] = {name: p["steps"].split() for name, p in _T["paths"].items()}
CLOSED_EXTRA: dict[str, float] = {
    name: p["extra_days"] for name, p in _T["paths"].items() if "extra_days" in p
}
OPEN_AGES: dict[str, tuple[float, float]] = {
    name: (p["age"][0], p["age"][1]) for name, p in _T["paths"].items() if "age" in p
}
STEP_ACTORS: dict[str, str] = {step: s["actor"] for step, s in _T["steps"].items()}
STEP_TEXTS: dict[str, tuple[str, tuple[str, ...]]] = {
    step: (s["field"], tuple(_TEXTS[s["texts"]])) for step, s in _T["steps"].items() if "texts" in s
}

# How the units answer the letter cases (督办件) the daily escalation opens.
LETTER_ON_TIME: float = _T["letters"]["on_time"]
LETTER_LATE: float = _T["letters"]["late"]
LETTER_REPLIES: tuple[str, ...] = tuple(_T["letters"]["replies"])
LETTER_APPROVALS: tuple[str, ...] = tuple(_T["letters"]["approvals"])


class Account(NamedTuple):
    username: str
    role: Role
    display_name: str
    unit_code: str | None
    region_code: str | None
    jurisdiction: str


class Grid(NamedTuple):
    code: str
    name: str
    street: Street
    community: Community
    worker: str | None  # username of the grid worker, if the grid has one


@dataclass
class Spec:
    """One demo case before it is filed: what it is, where, by whom, and the path it takes."""

    path: str
    item: Item
    grid: Grid
    kind: CaseKind
    urgent: bool
    title: str
    description: str
    address: str
    location: Location
    filer: str
    self_verify: bool = False  # the grid worker verifies their own event
    grade: Grade | None = None
    limit_days: int | None = None  # an explicit limit at dispatch (hazards)
    wrong_unit: str | None = None  # where a misdispatch sends it first
    reported_at: datetime = datetime.min.replace(tzinfo=UTC)
    target: int | None = None  # for a merge: the index of the case this duplicates
    case_id: int | None = None

    @property
    def days(self) -> int:
        return self.limit_days or self.item.limit_days


def grids() -> list[Grid]:
    result: list[Grid] = []
    for street in STREETS:
        for community in street.communities:
            for k, numeral in enumerate(GRID_NUMERALS):
                worker = f"lh-wg{len(result) // 2 + 1:02d}" if k == 0 else None
                name = f"{community.name}第{numeral}网格"
                result.append(Grid(f"{community.code}{k + 1:02d}", name, street, community, worker))
    return result


def accounts() -> list[Account]:
    code, name = DISTRICT
    result = [
        Account(ADMIN[0], Role.admin, ADMIN[1], None, None, f"{name}（系统管理）"),
        Account(DISPATCHER[0], Role.dispatcher, DISPATCHER[1], None, code, f"{name}网格管理中心"),
        Account(SUPERVISOR[0], Role.supervisor, SUPERVISOR[1], None, code, f"{name}应急管理局"),
    ]
    result += [
        Account(u, Role.handler, n, c, None, UNIT_NAMES[c]) for c, (u, n) in HANDLERS.items()
    ]
    workers = [g for g in grids() if g.worker]
    for g, person in zip(workers, GRID_WORKERS, strict=True):
        assert g.worker is not None
        where = f"{g.street.name}{g.name}"
        result.append(Account(g.worker, Role.reporter, person, None, g.code, where))
    return result


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A valid 1×1 PNG: enough for the evidence checks, light on disk."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + bytes(rgb)))
        + chunk(b"IEND", b"")
    )


BEFORE_PHOTOS = [_png(c) for c in ((128, 96, 64), (96, 96, 96), (160, 120, 80))]
AFTER_PHOTOS = [_png(c) for c in ((64, 160, 96), (80, 176, 120), (96, 192, 144))]


def _pdf(text: str) -> bytes:
    """A one-page PDF: the reply document a unit attaches to a letter case."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


REPLY_DOCUMENT = _pdf("Rectification report")
