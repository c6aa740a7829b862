"""The scheduled jobs page (/admin/jobs, admin only): the job table (name, cron, what it does)
and the latest runs recorded in job_run — by the embedded scheduler of `closeloop serve` or by a
Prefect deployment's run — with their state, times, summary and where each ran."""

from fastapi.responses import Response

from api.deps import SessionDep
from api.web.admin import PageAdmin
from api.web.deps import PageDep, page_router
from workflows import runs
from workflows.jobs import JOBS, TIMEZONE

router = page_router()
LATEST = 50


@router.get("/admin/jobs")
def jobs_page(page: PageDep, session: SessionDep, _: PageAdmin) -> Response:
    latest = runs.recent(session, limit=LATEST)
    rows = [
        {
            "run": r,
            "prefect": runs.flow_run_of(r.holder),
            "where": runs.where(r.holder).split(" ", 1)[1],
        }
        for r in latest
    ]
    return page.render("admin/jobs.html", jobs=JOBS, timezone=TIMEZONE, rows=rows)
