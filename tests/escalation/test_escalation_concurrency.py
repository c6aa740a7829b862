"""Exactly once across processes: two escalation jobs at the same moment, and a job killed
(SIGKILL) in the middle and run again, leave what one clean run leaves."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select

from closeloop.db import new_session, transaction
from closeloop.escalation import service as escalation
from models.case import Case
from models.enums import CaseKind, Grade
from models.escalation import EscalationFire
from models.letter import Letter
from tests.escalation.escalation_helpers import fire_keys, late_case, sh, totals
from tests.escalation.escalation_worker import CRASH_ENV

ROOT = Path(__file__).resolve().parents[2]
NOW = sh("2025-10-21", 15)
PER_UNIT = 12
# Deadlines that put cases on every rung on 2025-10-21: warning, supervision, reminder, due soon.
DUES = ("2025-09-30", "2025-10-15", "2025-10-20", "2025-10-22")


def _dataset(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        for unit in ("SW", "ZJ"):
            for n in range(PER_UNIT):
                late_case(s, org, due=DUES[n % len(DUES)], unit=unit, sign=n % 5 != 0)
        late_case(s, org, due="2025-10-10", kind=CaseKind.hazard, grade=Grade.major)
        late_case(s, org, due="2025-10-31", dispatched="2025-10-21", sign=False)


def _reference(engine: Engine) -> tuple[dict, dict[str, int], list, int]:
    """What one clean run writes: run in a session, count, roll back."""
    with new_session(engine) as s:
        summary = escalation.run(s, now=NOW)
        s.flush()
        counts = totals(s)
        keys = fire_keys(s)
        sw = s.exec(
            select(EscalationFire.id)
            .join(Case, col(Case.id) == EscalationFire.case_id)
            .where(Case.unit_code == "SW")
        ).all()
        s.rollback()
    with new_session(engine) as s:
        assert totals(s)["fires"] == 0
    return summary, counts, keys, len(sw)


def _worker(engine: Engine, start_at: float = 0.0, **env: str) -> subprocess.Popen[str]:
    full = {
        **os.environ,
        "CLOSELOOP_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        **env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.escalation.escalation_worker",
            NOW.isoformat(),
            str(start_at),
        ],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out, err


def test_two_processes_at_once_fire_each_level_once(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    _dataset(engine, org)
    summary, counts, keys, _ = _reference(engine)
    assert sum(summary["letters"].values()) >= 6 and summary["notifications"] >= 5
    engine.dispose()  # no connection of ours holds anything while the workers run
    start_at = time.time() + 8  # both have imported everything (Prefect too) by then
    procs = [_worker(engine, start_at) for _ in range(2)]
    results = [_finish(p) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
    reports = [json.loads(out) for _c, out, _e in results]
    # They really ran at the same time.
    assert max(r["started"] for r in reports) < min(r["finished"] for r in reports)
    a, b = (r["summary"] for r in reports)
    with new_session(engine) as s:
        assert totals(s) == counts
        assert fire_keys(s) == keys
    # Between them the two did exactly one run's work.
    assert a["notifications"] + b["notifications"] == summary["notifications"]
    assert a["listed"] + b["listed"] == summary["listed"]
    for level, n in summary["letters"].items():
        assert a["letters"][level] + b["letters"][level] == n
    _one_letter_per_unit_and_level_without_gaps(engine)


def _one_letter_per_unit_and_level_without_gaps(engine: Engine) -> None:
    with new_session(engine) as s:
        letters = s.exec(select(Letter.type, Letter.unit_code, Letter.serial)).all()
    assert len({(t, u) for t, u, _ in letters}) == len(letters)
    for letter_type in {t for t, _, _ in letters}:
        serials = sorted(n for t, _, n in letters if t == letter_type)
        assert serials == list(range(1, len(serials) + 1))


def test_a_run_killed_midway_loses_and_repeats_nothing(engine: Engine, org) -> None:  # type: ignore[no-untyped-def]
    _dataset(engine, org)
    summary, counts, keys, sw_claims = _reference(engine)
    assert 0 < sw_claims < counts["fires"]
    engine.dispose()
    # Units run in code order, each in its own transaction: SW commits, then the process kills
    # itself (SIGKILL) right after inserting ZJ's claims, before ZJ commits.
    code, out, err = _finish(_worker(engine, **{CRASH_ENV: str(sw_claims + 1)}))
    assert code == -signal.SIGKILL, (code, out, err)
    assert out == ""
    with new_session(engine) as s:
        partial = totals(s)
        done = s.exec(select(Letter.unit_code, Letter.type)).all()
    assert partial["fires"] == sw_claims  # SW's unit is kept, ZJ's claims died with the process
    assert {u for u, _ in done} == {"SW"}
    code, out, err = _finish(_worker(engine))
    assert code == 0, err
    rerun = json.loads(out)["summary"]
    with new_session(engine) as s:
        assert totals(s) == counts
        assert fire_keys(s) == keys
    for level, n in summary["letters"].items():  # the rerun did exactly what was left
        assert rerun["letters"][level] + sum(1 for _, t in done if t == level) == n
    _one_letter_per_unit_and_level_without_gaps(engine)  # the killed run's numbers came back
    code, out, err = _finish(_worker(engine))  # and once more: nothing left to do
    assert code == 0, err
    again = json.loads(out)["summary"]
    assert again["notifications"] == 0 and sum(again["letters"].values()) == 0
    with new_session(engine) as s:
        assert totals(s) == counts
