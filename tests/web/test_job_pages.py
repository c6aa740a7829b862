"""The scheduled jobs page (/admin/jobs): the job table and the latest runs, embedded or a
Prefect deployment's (with its flow run id), crashed runs told in words; admins only."""

from datetime import UTC, datetime, timedelta

import pytest

from api.web import session as websession
from closeloop.db import transaction
from models.jobs import JobRun

RUN_ID = "3f1c2a9e-0000-4000-8000-000000000001"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_jobs_page_shows_where_each_run_ran(web, lang) -> None:  # type: ignore[no-untyped-def]
    c = web("admin")
    at = datetime(2025, 10, 20, 2, 0, tzinfo=UTC)
    with transaction(c.app.state.engine) as s:
        s.add(JobRun(name="escalation", holder=f"prefect:{RUN_ID}", started_at=at, status="ok"))
        s.add(
            JobRun(
                name="delivery",
                holder="host-a:4242:beef0001",
                started_at=at + timedelta(minutes=1),
                status="crashed",
            )
        )
    c.cookies.set(websession.LANG_COOKIE, lang)
    page = c.get("/admin/jobs")
    assert page.status_code == 200
    html = page.text
    assert html.count('data-testid="job-row"') == 5 and "*/10 * * * *" in html
    assert html.count('data-testid="job-run"') == 2
    assert 'data-status="ok" data-where="prefect"' in html and RUN_ID in html
    assert 'data-status="crashed" data-where="embedded"' in html and "host-a:4242" in html
    assert ("已丢失" if lang == "zh" else "crashed (process lost)") in html
    assert "/admin/jobs" in c.get("/admin").text


def test_only_the_admin_sees_the_jobs_page(web) -> None:  # type: ignore[no-untyped-def]
    for user in ("disp", "sup", "h_zj"):
        assert web(user).get("/admin/jobs").status_code == 403
