"""Prefect writes under PREFECT_HOME (~/.prefect by default) as soon as it is imported: point it
at a temporary folder for the whole session, before anything imports Prefect, and keep it quiet."""

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="closeloop-prefect-")
os.environ["PREFECT_HOME"] = _HOME
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# In-process runs here are untracked (workflows/flows.py): no Prefect API from a developer's
# profile or environment may leak in; the server test sets its own.
os.environ.pop("PREFECT_API_URL", None)
