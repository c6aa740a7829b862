"""Scale mode: the job table's flows as Prefect deployments, with the same crons (Asia/Shanghai).

Deployments point at the installed package, never at a checkout: their entrypoints are module
paths (`workflows.flows.escalation`) and they have no pull step, so a machine that runs them needs
`pip install closeloop` and the settings (workflows.runs.require_shared_settings), not the source
tree at the path it had where the deployments were made. Two ways, both read workflows.jobs:

- `closeloop deploy --print-yaml > prefect.yaml`, `prefect deploy --all` (in any directory), and
  `prefect worker start --pool closeloop` on each machine that runs flows: a work pool's workers.
- `closeloop deploy`: registers the deployments and serves them from this process (prefect's
  `serve`), running each of their scheduled and manual runs in a subprocess.

Stopping a `closeloop deploy` process (Ctrl-C, SIGTERM) stops that process only: it does NOT pause
the deployments (prefect's `serve` would, server-wide, deleting their scheduled runs: we pass
pause_on_shutdown=False), so another `closeloop deploy` process serving them keeps picking up
their runs; with none left, the runs wait as Late on the server until one starts again. A run it
was executing is killed with it (see below).

One run of a job at a time is the job's database lease (workflows.runs), not a Prefect
concurrency limit: a deployment's run takes the lease or, when another run holds it, does nothing.
A run killed with its worker stops renewing its lease; once the lease has run out (Job.lease,
90 s), the next run takes it and marks the lost run crashed in job_run and in Prefect — a Prefect
concurrency slot would instead stay taken by the dead run for minutes. The flows are idempotent
(the database claims), so a rerun after a killed run duplicates nothing.
"""

from typing import Any

import prefect

from closeloop.errors import Invalid
from closeloop.text import Msg
from workflows.jobs import JOBS, TIMEZONE, Job

WORK_POOL = "closeloop"
TAGS = ["closeloop"]
MODULE = "workflows.flows"


def entrypoint(job: Job) -> str:
    """The deployment's entrypoint: the flow's module path in the installed package."""
    return f"{MODULE}.{job.flow}"


def deployments(jobs: tuple[Job, ...] = JOBS) -> list[Any]:
    """One RunnerDeployment per job, named after it (`escalation/escalation`, …)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from workflows.flows import flow_of

    return [
        flow_of(job).to_deployment(
            name=job.name,
            schedule=Cron(job.cron, timezone=TIMEZONE),
            description=job.description,
            tags=TAGS,
            # Loaded by module path: works wherever closeloop is installed, whatever the cwd.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for job in jobs
    ]


def check_startup() -> None:
    """What a process running deployments' flows needs, checked before it starts: a Prefect
    API, the shared database and the shared, absolute data directory."""
    from workflows.flows import orchestrated
    from workflows.runs import require_shared_settings

    if not orchestrated():
        raise Invalid(
            Msg(
                "未设置 PREFECT_API_URL",
                "PREFECT_API_URL is not set: point it at your Prefect "
                "server's API (e.g. http://127.0.0.1:4200/api, see `prefect server start`)",
            )
        )
    require_shared_settings()


def serve(limit: int | None = None) -> None:
    """Register the deployments and run their flow runs until interrupted; stopping leaves the
    deployments and their schedules as they are (see the module's docstring)."""
    from prefect import serve as prefect_serve

    check_startup()
    prefect_serve(*deployments(), limit=limit, pause_on_shutdown=False, print_starting_message=True)


def prefect_yaml(jobs: tuple[Job, ...] = JOBS, *, work_pool: str = WORK_POOL) -> str:
    """A prefect.yaml for `prefect deploy --all` and `prefect worker start --pool <work_pool>`:
    module-path entrypoints and no pull step, so it deploys from any directory and its runs load
    the installed package. Workers need the settings of the README's scale section."""
    import yaml

    document: dict[str, Any] = {
        "name": "closeloop",
        "prefect-version": prefect.__version__,
        "build": None,
        "push": None,
        "pull": [],  # nothing to fetch: the flows are in the installed package
        "deployments": [
            {
                "name": job.name,
                "description": job.description,
                "entrypoint": entrypoint(job),
                "tags": list(TAGS),
                "parameters": {},
                "schedules": [{"cron": job.cron, "timezone": TIMEZONE, "active": True}],
                "work_pool": {"name": work_pool, "work_queue_name": None, "job_variables": {}},
            }
            for job in jobs
        ],
    }
    header = (
        "# Closeloop's scheduled flows as Prefect deployments (generated by\n"
        "# `closeloop deploy --print-yaml`; the job table is workflows/jobs.py). Entrypoints are\n"
        "# module paths of the installed closeloop package: deploy from any directory.\n"
        f"#   prefect work-pool create {work_pool} --type process\n"
        "#   prefect deploy --all\n"
        f"#   prefect worker start --pool {work_pool}\n"
        "# Each worker needs PREFECT_API_URL, CLOSELOOP_DATABASE_URL and an absolute, shared\n"
        "# CLOSELOOP_DATA_DIR (see the README's scale section).\n"
    )
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    return header + body
