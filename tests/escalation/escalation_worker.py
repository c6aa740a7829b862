"""One escalation job in a process of its own, for the concurrency and crash tests.

    CLOSELOOP_DATABASE_URL=… python -m tests.escalation.escalation_worker NOW [START_AT]

NOW is ISO 8601 with an offset; START_AT (seconds since the epoch) lets several workers, started
one after the other, begin the run together. Prints {"summary", "started", "finished"} as JSON.
"""

import json
import os
import sys
import time
from datetime import datetime


def main() -> None:
    now = datetime.fromisoformat(sys.argv[1])
    start_at = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    from closeloop.db import make_engine
    from closeloop.escalation import service as escalation

    engine = make_engine(os.environ["CLOSELOOP_DATABASE_URL"])
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    started = time.time()
    summary = escalation.run_all(engine, now=now)
    finished = time.time()
    engine.dispose()
    print(json.dumps({"summary": summary, "started": started, "finished": finished}))


if __name__ == "__main__":
    main()
