"""Reports generated from the pages run here, outside the request: a background thread per
report calls `closeloop.reports.service.build` (each step its own transaction, progress visible
to the page that polls it). In the embedded mode the web process does the work itself; at scale
the same `build(engine, report_id=…, now=…)` is what a worker or a Prefect task would run — it
takes only the engine, an id and a time.

A thread cut short (the process stopped) leaves the report `generating`; after
reports.STALE_AFTER it reads as failed and the period may be generated again."""

import logging
import threading
from datetime import datetime

from sqlalchemy import Engine

from closeloop.reports import service as reports

log = logging.getLogger("closeloop.reports")
_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def submit(engine: Engine, *, report_id: int, now: datetime) -> None:
    """Build report `report_id` (inserted and committed by reports.start) in the background."""

    def run() -> None:
        try:
            status = reports.build(engine, report_id=report_id, now=now)
            log.info("report %s: %s", report_id, status)
        except Exception:  # recording the failure failed too: the report goes stale
            log.exception("report %s could not be built", report_id)
        finally:
            with _lock:
                _threads.pop(report_id, None)

    thread = threading.Thread(target=run, name=f"report-{report_id}", daemon=True)
    with _lock:
        _threads[report_id] = thread
    thread.start()


def wait(report_id: int, timeout: float = 120.0) -> None:
    """Wait for report `report_id`'s build to end (tests; a graceful shutdown)."""
    with _lock:
        thread = _threads.get(report_id)
    if thread is not None:
        thread.join(timeout)
