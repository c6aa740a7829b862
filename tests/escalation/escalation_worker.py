"""One escalation job in a process of its own, for the concurrency and crash tests.

    CLOSELOOP_DATABASE_URL=… python -m tests.escalation.escalation_worker NOW [START_AT]

NOW is ISO 8601 with an offset; START_AT (seconds since the epoch) lets several workers, started
one after the other, begin the run together. Runs the escalation flow as `closeloop escalate`
does. Prints {"summary", "started", "finished"} as JSON.

With CRASH_ENV=N in its environment the worker injects a crash: it kills its own process
(SIGKILL, like kill -9) once the run has inserted N claims, before that unit's transaction
commits.
"""

import json
import os
import signal
import sys
import tempfile
import time
from datetime import datetime
from typing import Any

CRASH_ENV = "CLOSELOOP_TEST_ESCALATION_CRASH_AFTER"


def kill_after_claims(limit: int) -> None:
    """Wrap the claim insert so that the process dies right after the `limit`-th claim."""
    from closeloop.escalation import claims

    real = claims.claim
    claimed = 0

    def claim(session: Any, wanted: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
        nonlocal claimed
        won = real(session, wanted)
        claimed += len(won)
        if claimed >= limit:
            os.kill(os.getpid(), signal.SIGKILL)
        return won

    claims.claim = claim


def main() -> None:
    now = datetime.fromisoformat(sys.argv[1])
    start_at = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    if "PREFECT_HOME" not in os.environ:  # the test run's, inherited; a folder only if none
        os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="closeloop-prefect-")
    os.environ.pop("PREFECT_API_URL", None)  # in-process, untracked: as the CLI runs it here
    from closeloop.db import make_engine
    from workflows.flows import run_job

    if os.environ.get(CRASH_ENV):
        kill_after_claims(int(os.environ[CRASH_ENV]))
    engine = make_engine(os.environ["CLOSELOOP_DATABASE_URL"])
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    started = time.time()
    summary = run_job("escalation", now=now, engine=engine)
    finished = time.time()
    engine.dispose()
    print(json.dumps({"summary": summary, "started": started, "finished": finished}))


if __name__ == "__main__":
    main()
