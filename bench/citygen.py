"""A throwaway city for the dashboard, metrics and scale benchmarks, written fast: COPY on
PostgreSQL (psycopg `cursor.copy`), executemany on the raw sqlite3 connection on SQLite.

    from bench.citygen import build, NOW
    info = build(engine, cases=300_000, districts=1, years=1)

The city: `districts` districts of 10 streets × 9 communities × 3 grids (Luohu's shape each),
10 units per district, 10 categories of 5 kinds each, an admin and a supervisor per district.
Cases are spread evenly over the `years` years before NOW (a Monday, mid-month), events and
hazards, over every grid, unit and category; their states follow their age (old cases mostly
closed, some cancelled, suspended, late or waiting for verification; the last three weeks a mix
of every open state), a few listed (挂牌) and urgent/emergency with an alert time. Every tenth case
carries its live action history (file, dispatch — sometimes a wrong one and its return — sign,
submit, a rejection, approval…), the others the one `import` entry a ledger import writes, so the
metrics read both. Letters (one per ~1,000 cases, about three cases each, some withdrawn),
follow-ups (a fifth of the closed events), co-handling tasks (one case in fifty) complete it.
Deterministic: the same arguments give the same database.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from closeloop.auth.policy import Principal
from closeloop.db import transaction
from models.enums import Role
from models.org import Category, Region, Unit
from models.types import SHANGHAI
from models.user import User

NOW = datetime(2025, 12, 15, 9, 30, tzinfo=SHANGHAI)  # a Monday, mid-month
DAY = timedelta(days=1)
KINDS = 5  # sub-categories per top category


@dataclass
class City:
    districts: list[str]
    grids: list[tuple[str, str, str, str, str]]  # grid, street, community, path, district
    units: dict[str, list[str]]  # district → its units
    categories: list[tuple[str, int]]  # (code, limit_days)
    supervisors: dict[str, Principal]  # district → its supervisor
    admin: Principal
    cases: int


def organisation(engine: Engine, districts: int) -> City:
    grids: list[tuple[str, str, str, str, str]] = []
    units: dict[str, list[str]] = {}
    cats: list[tuple[str, int]] = []
    with transaction(engine) as s:
        for ci in range(10):
            s.add(Category(code=f"{ci:02d}", name=f"大类{ci}"))
        s.flush()
        for d in range(districts):
            code = f"D{d}"
            s.add(Region(code=code, name=f"区{d}", level="district", path=f"/{code}/"))
            units[code] = [f"{code}U{u}" for u in range(10)]
            for u in units[code]:
                s.add(Unit(code=u, name=f"单位{u}", short_name=u, region_code=code))
        s.flush()
        first = units["D0"]
        for ci in range(10):
            for k in range(KINDS):
                limit = (3, 5, 7, 10, 15)[k]
                cats.append((f"{ci:02d}{k:02d}", limit))
                s.add(
                    Category(
                        code=f"{ci:02d}{k:02d}",
                        name=f"小类{ci}-{k}",
                        parent_code=f"{ci:02d}",
                        unit_code=first[ci],
                        limit_days=limit,
                        emergency=(ci == 9 and k == 0),
                    )
                )
        for d in range(districts):
            district = f"D{d}"
            for si in range(10):
                street = f"{district}S{si}"
                s.add(
                    Region(
                        code=street,
                        name=f"街道{street}",
                        level="street",
                        parent_code=district,
                        path=f"/{district}/{street}/",
                    )
                )
            s.flush()
            for si in range(10):
                street = f"{district}S{si}"
                for ci in range(9):
                    comm = f"{street}C{ci}"
                    s.add(
                        Region(
                            code=comm,
                            name=f"社区{comm}",
                            level="community",
                            parent_code=street,
                            path=f"/{district}/{street}/{comm}/",
                        )
                    )
            s.flush()
            for si in range(10):
                street = f"{district}S{si}"
                for ci in range(9):
                    comm = f"{street}C{ci}"
                    for gi in range(3):
                        grid = f"{comm}G{gi}"
                        path = f"/{district}/{street}/{comm}/{grid}/"
                        s.add(
                            Region(
                                code=grid,
                                name=f"网格{grid}",
                                level="grid",
                                parent_code=comm,
                                path=path,
                            )
                        )
                        grids.append((grid, street, comm, path, district))
        s.flush()
        created = datetime(2020, 1, 1, tzinfo=UTC)
        admin = User(
            username="admin",
            display_name="管理员",
            role=Role.admin,
            password_hash="x",
            created_at=created,
        )
        s.add(admin)
        sups = {}
        for d in range(districts):
            u = User(
                username=f"sup{d}",
                display_name=f"督办{d}",
                role=Role.supervisor,
                region_code=f"D{d}",
                password_hash="x",
                created_at=created,
            )
            s.add(u)
            sups[f"D{d}"] = u
        s.flush()
        admin_p = Principal(id=admin.id, username="admin", display_name="管理员", role=Role.admin)
        supervisors = {
            d: Principal(
                id=u.id,
                username=u.username,
                display_name=u.display_name,
                role=Role.supervisor,
                region_code=d,
                region_path=f"/{d}/",
            )
            for d, u in sups.items()
        }
    return City([f"D{d}" for d in range(districts)], grids, units, cats, supervisors, admin_p, 0)


CASE_COLS = (
    "id number kind state title description category_code grid_code street_code community_code "
    "region_path address unit_code grade urgent reported_at dispatched_at sign_due_at signed_at "
    "due_at deadline_version due_estimated submitted_at verify_due_at suspended_at closed_at "
    "cancelled_at listed rework_count emergency alerted_at version updated_at"
).split()
HIST_COLS = (
    "case_id seq action from_state to_state actor_id actor at note data "
    "due_at dispatched_at closed_at listed unit_code"
).split()
LETTER_COLS = (
    "id number type issuer year serial unit_code title issued_at reply_due_at content withdrawn_at"
).split()
FOLLOW_COLS = "id case_id satisfaction channel note by_id at closed_at".split()
TASK_COLS = (
    "id case_id unit_code state sign_due_at due_at due_estimated created_at signed_at done_at "
    "note attachment_ids updated_at"
).split()


def _state(i: int, age_days: float) -> str:
    h = (i * 7919) % 1000
    if age_days > 21:
        if h < 975:
            return "closed"
        if h < 990:
            return "cancelled"
        if h < 995:
            return "suspended"
        if h < 998:
            return "rectifying"  # late, some for months
        return "verifying"
    # The last three weeks: most cases closed within a few days, the rest in every open state
    # (a few of them late: the escalation preview's work).
    if h < 880 and age_days > 1 + h % 10:
        return "closed"
    if h < 960:
        return ("reported", "dispatched", "rectifying", "rectifying", "verifying")[h % 5]
    return "suspended" if h < 985 else "cancelled"


def _cases(
    city: City, n: int, years: int
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(case row, its history rows) for case ids 1..n."""
    now = NOW.astimezone(UTC)
    span = int(years * 365 * 86400)
    first = now - timedelta(seconds=span)
    ng, nc = len(city.grids), len(city.categories)
    for i in range(n):
        cid = i + 1
        grid, street, comm, path, district = city.grids[(i * 31) % ng]
        units = city.units[district]
        category, limit = city.categories[(i * 17) % nc]
        reported = first + timedelta(seconds=(i * span) // n + 1)
        age = (now - reported).total_seconds() / 86400
        state = _state(i, age)
        h = (i * 104729) % 1000
        unit = units[(i * 13) % 10]
        kind = "hazard" if i % 10 == 3 else "event"
        emergency = h < 2
        urgent = h < 5
        dispatched = reported + timedelta(minutes=20 + h % 240) if state != "reported" else None
        if dispatched is not None and dispatched > now:
            dispatched, state = None, "reported"
        if state == "cancelled":
            dispatched = None
        sign_due = dispatched + timedelta(hours=2) if dispatched else None
        # Signed within 2.5 h of the dispatch, but never after now (no entry is in the future).
        signed = (
            min(now, dispatched + timedelta(minutes=30 + (h % 7) * 20))
            if dispatched and state not in ("dispatched",)
            else None
        )
        due = dispatched + timedelta(days=limit + (h % 3)) if dispatched else None
        closed = None
        if state == "closed" and dispatched is not None:
            # After the signing (≤ 2.5 h) and the submission 6 h before: a history in order.
            closed = dispatched + timedelta(days=(h % (limit + 6)), hours=9 + h % 9)
            if closed > now:
                closed, state = None, "rectifying"
        submitted = (closed - timedelta(hours=6)) if closed else None
        if state == "verifying":
            submitted = min(now, (dispatched or reported) + timedelta(days=2))
        cancelled = reported + timedelta(hours=3) if state == "cancelled" else None
        # Suspended a day after dispatch, but never after now (no history entry is in the future).
        suspended = (
            min(now, (dispatched or reported) + timedelta(days=1)) if state == "suspended" else None
        )
        listed = state in ("rectifying", "suspended") and h % 50 == 0
        alerted = reported + timedelta(minutes=5 + h * 3 % 50) if emergency and h % 2 == 0 else None
        held_unit = None if state in ("reported", "cancelled") else unit
        row = (
            cid,
            f"B{cid:09d}",
            kind,
            state,
            "基准案件",
            "",
            category,
            grid,
            street,
            comm,
            path,
            "",
            held_unit,
            "general" if kind == "hazard" else None,
            urgent,
            reported,
            dispatched,
            sign_due,
            signed,
            due,
            1 if dispatched else 0,
            False,
            submitted,
            submitted + timedelta(days=2) if submitted and state == "verifying" else None,
            suspended,
            closed,
            cancelled,
            listed,
            1 if i % 10 == 0 and state == "closed" else 0,
            emergency,
            alerted,
            1,
            closed or cancelled or reported,
        )
        hist: list[tuple[Any, ...]] = []
        snap = {
            "due_at": due,
            "dispatched_at": dispatched,
            "unit_code": held_unit,
            "listed": listed,
        }
        if i % 10 == 0:
            steps: list[tuple[str, dict[str, Any], str, dict[str, Any], datetime]] = [
                ("file", {}, "reported", {}, reported)
            ]
            if state == "cancelled":
                steps.append(("cancel", {}, "cancelled", {}, cancelled or reported))
            elif dispatched is not None:
                if i % 50 == 0:
                    other = units[(i * 13 + 1) % 10]
                    away = {**snap, "unit_code": other, "listed": False}
                    steps.append(("dispatch", {"unit_code": other}, "dispatched", away, dispatched))
                    steps.append(("return", {"unit_code": other}, "reported", {}, dispatched))
                steps.append(
                    (
                        "dispatch",
                        {"unit_code": unit},
                        "dispatched",
                        {**snap, "listed": False},
                        dispatched,
                    )
                )
                if signed is not None:
                    on_time = sign_due is not None and signed <= sign_due
                    steps.append(
                        (
                            "sign",
                            {"on_time": on_time},
                            "rectifying",
                            {**snap, "listed": False},
                            signed,
                        )
                    )
                if listed:
                    steps.append(("list", {}, "rectifying", snap, signed or dispatched))
                if state == "suspended":
                    steps.append(("suspend", {}, "suspended", snap, suspended or dispatched))
                if submitted is not None and state in ("verifying", "closed"):
                    if state == "closed" and i % 20 == 0:
                        third = (submitted - (signed or dispatched)) / 3
                        t = (signed or dispatched) + third
                        steps.append(("submit", {}, "verifying", snap, t))
                        steps.append(("reject", {}, "rectifying", snap, t + third))
                    steps.append(("submit", {}, "verifying", snap, submitted))
                if state == "closed" and closed is not None:
                    steps.append(
                        (
                            "approve",
                            {"on_time": True},
                            "closed",
                            {**snap, "closed_at": closed},
                            closed,
                        )
                    )
            prev = None
            for seq, (action, data, after, s, at) in enumerate(steps, start=1):
                hist.append(
                    (
                        cid,
                        seq,
                        action,
                        prev,
                        after,
                        None,
                        "bench",
                        at,
                        None,
                        json.dumps(data),
                        s.get("due_at"),
                        s.get("dispatched_at"),
                        s.get("closed_at"),
                        s.get("listed", False),
                        s.get("unit_code"),
                    )
                )
                prev = after
        else:
            ledger = {**snap, "closed_at": closed or cancelled} if state != "reported" else {}
            hist.append(
                (
                    cid,
                    1,
                    "import",
                    None,
                    state,
                    None,
                    "bench",
                    now - timedelta(days=400 * years),
                    None,
                    "{}",
                    ledger.get("due_at"),
                    ledger.get("dispatched_at"),
                    ledger.get("closed_at"),
                    ledger.get("listed", False),
                    ledger.get("unit_code"),
                )
            )
        yield row, hist


class Writer:
    """Rows into tables: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.raw: Any = engine.raw_connection()
        self.cur = self.raw.cursor()

    def write(self, table: str, cols: list[str], rows: Iterator[tuple[Any, ...]] | list) -> None:
        names = ", ".join(f'"{c}"' for c in cols)
        if self.pg:
            with self.cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            marks = ", ".join("?" for _ in cols)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
            batch: list[tuple[Any, ...]] = []
            for r in rows:
                batch.append(tuple(_lite(v) for v in r))
                if len(batch) >= 20_000:
                    self.cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                self.cur.executemany(sql, batch)

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.commit()
        self.raw.close()


def _lite(v: Any) -> Any:
    if isinstance(v, datetime):  # SQLAlchemy's SQLite DateTime: naive UTC text
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return v


def build(engine: Engine, *, cases: int, districts: int = 1, years: int = 1) -> City:
    """Write the city into a migrated, empty database; returns what the benchmarks need."""
    city = organisation(engine, districts)
    city.cases = cases
    w = Writer(engine)
    hist: list[tuple[Any, ...]] = []
    chunk: list[tuple[Any, ...]] = []
    closed_events: list[tuple[int, datetime]] = []
    task_cases: list[tuple[int, str, datetime]] = []
    step = 200_000
    for row, h in _cases(city, cases, years):
        chunk.append(row)
        hist.extend(h)
        cid = row[0]
        if row[3] == "closed" and row[2] == "event" and cid % 5 == 0:
            closed_events.append((cid, row[25]))
        if cid % 50 == 7 and row[16] is not None:
            task_cases.append((cid, row[12] or "", row[16]))
        if len(chunk) >= step:
            w.write("case", CASE_COLS, chunk)
            w.write("case_history", HIST_COLS, hist)
            w.commit()
            chunk.clear()
            hist.clear()
    w.write("case", CASE_COLS, chunk)
    w.write("case_history", HIST_COLS, hist)
    w.commit()
    now = NOW.astimezone(UTC)
    by = city.admin.id
    w.write(
        "follow_up",
        FOLLOW_COLS,
        (
            (
                n + 1,
                cid,
                ("satisfied", "basically_satisfied", "unsatisfied")[cid % 7 % 3],
                "phone",
                "",
                by,
                min(now, closed + timedelta(days=1)),
                closed,
            )
            for n, (cid, closed) in enumerate(closed_events)
        ),
    )
    tasks = []
    for n, (cid, unit, dispatched) in enumerate(task_cases):
        district = unit[:2] if unit else "D0"
        helper = city.units.get(district, city.units["D0"])[(cid // 50) % 10]
        created = dispatched + timedelta(hours=1)
        signed = (
            created + timedelta(hours=1 + cid % 4) if created + timedelta(hours=5) < now else None
        )
        done = created + timedelta(days=cid % 6) if created + timedelta(days=6) < now else None
        tasks.append(
            (
                n + 1,
                cid,
                helper,
                "done" if done else ("signed" if signed else "open"),
                created + timedelta(hours=3),
                created + timedelta(days=4),
                False,
                created,
                signed,
                done,
                "",
                "[]",
                done or signed or created,
            )
        )
    w.write("case_task", TASK_COLS, tasks)
    letters, items = [], []
    n_letters = max(1, cases // 1000)
    types = ("reminder", "supervision", "warning")
    for n in range(n_letters):
        lid = n + 1
        about = [1 + (n * 997 + k * 331) % cases for k in range(3)]
        issued = now - timedelta(seconds=(n * int(years * 365 * 86400)) // n_letters + 60)
        first_district = city.grids[((about[0] - 1) * 31) % len(city.grids)][4]
        letters.append(
            (
                lid,
                f"函{lid:06d}",
                types[n % 3],
                "督办科",
                issued.astimezone(SHANGHAI).year,
                lid,
                city.units[first_district][n % 10],
                "督办函",
                issued,
                issued + timedelta(days=3),
                "{}",
                issued + timedelta(days=1) if n % 17 == 0 else None,
            )
        )
        items.extend((lid, c) for c in sorted(set(about)))
    w.write("letter", LETTER_COLS, letters)
    w.write("letter_item", ["letter_id", "case_id"], items)
    w.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            for table, col, value in (
                ("case", "id", cases),
                ("letter", "id", n_letters),
                ("follow_up", "id", len(closed_events)),
                ("case_task", "id", len(tasks)),
            ):
                if value:
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), :n)"),
                        {"n": value},
                    )
            conn.execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return city


def first_day(years: int) -> date:
    return (NOW - timedelta(days=365 * years)).date()
