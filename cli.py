"""The command line: `closeloop init | serve | import | org import | org template | escalate |
report | metrics | jobs | run-job | deploy | grids import | enterprises import`."""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from closeloop.clock import SystemClock
from closeloop.config import get_settings
from closeloop.errors import DomainError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="closeloop", description="闭环 Closeloop")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create or upgrade the schema and the first admin")
    p.add_argument("--admin-user", required=True)
    p.add_argument("--admin-password", required=True)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="API + web pages + in-process scheduler")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--demo", action="store_true", help="load the demo district first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("import", help="import a CSV or XLSX case ledger")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("enterprises", help="the enterprise and place register (一企一档)")
    ent_sub = p.add_subparsers(dest="enterprises_command", required=True)
    q = ent_sub.add_parser(
        "import",
        help="add enterprises and places from a CSV or XLSX (columns as POST /api/v1/enterprises); "
        "good rows in, bad rows listed; prints the JSON result",
    )
    q.add_argument("file")
    q.set_defaults(func=cmd_enterprises_import)

    p = sub.add_parser("org", help="the organisation workbook: import one, or write the template")
    org_sub = p.add_subparsers(dest="org_command", required=True)
    q = org_sub.add_parser(
        "import",
        help="create or update regions, units, categories and users from an XLSX (or a CSV "
        "named after its sheet, or a ZIP of CSVs), all or nothing; prints the JSON result, "
        "exit 2 when rows were rejected (nothing written)",
    )
    q.add_argument("file")
    q.add_argument("--sheet", help="the sheet a CSV holds (default: from its file name)")
    q.set_defaults(func=cmd_org_import)
    q = org_sub.add_parser("template", help="write the template workbook (an example street)")
    q.add_argument("out", help="e.g. org.xlsx")
    q.set_defaults(func=cmd_org_template)

    p = sub.add_parser("escalate", help="run the escalation flow once; prints a JSON summary")
    p.add_argument(
        "--now",
        help="ISO 8601 (Asia/Shanghai without an offset); default: now; "
        "not later than the current time unless --dry-run",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="write nothing; print what a run at --now would fire"
    )
    p.set_defaults(func=cmd_escalate)

    p = sub.add_parser(
        "report", help="write a weekly, monthly, quarterly or yearly report (HTML, PDF, XLSX)"
    )
    p.add_argument("--cadence", required=True, choices=["weekly", "monthly", "quarterly", "yearly"])
    p.add_argument("--period", required=True, help="2025-W40 | 2025-09 | 2025-Q3")
    p.add_argument("--out", default=".", help="directory for the files (default: here)")
    p.add_argument("--region", help="region code (default: the district)")
    p.add_argument("--now", help="ISO 8601 generation time (Asia/Shanghai without an offset)")
    p.add_argument(
        "--as-of",
        help="ISO 8601 report time the figures are of (Asia/Shanghai without "
        "an offset); default: the period's end once it is over, else --now",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "metrics", help="print the metrics of a period as JSON (as the API gives them)"
    )
    p.add_argument("--from", dest="date_from", type=_day, required=True, help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_day, required=True, help="YYYY-MM-DD, inclusive")
    p.add_argument(
        "--group-by", choices=["unit", "street", "community", "grid", "category", "kind"]
    )
    p.add_argument("--kind", choices=["event", "hazard", "letter"])
    p.add_argument("--region", help="a region code: that subtree only")
    p.add_argument("--as-of", help="the report time, ISO 8601 (Asia/Shanghai without an offset)")
    p.add_argument(
        "--weights",
        help="e.g. on_time_closure_rate=40,closure_rate=30,no_rework=20,sign_on_time_rate=10",
    )
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("jobs", help="list the scheduled jobs (the job table)")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser(
        "status",
        help="the health summary: database and schema, outbox, job runs, escalation lag; "
        "exit 0 healthy, 1 unhealthy, 2 database unreachable",
    )
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("run-job", help="run one scheduled job now (takes its lease)")
    p.add_argument("name")
    p.set_defaults(func=cmd_run_job)

    p = sub.add_parser("deploy", help="serve the jobs as Prefect deployments (PREFECT_API_URL)")
    p.add_argument("--print-yaml", action="store_true", help="print a prefect.yaml instead")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("grids", help="grid boundaries for the map")
    grids_sub = p.add_subparsers(dest="grids_command", required=True)
    q = grids_sub.add_parser(
        "import",
        help="import grid polygons from a GeoJSON FeatureCollection (properties.code = grid "
        "code, WGS-84 lon/lat), all or nothing; exit 2 listing every bad feature",
    )
    q.add_argument("file", help="e.g. grids.geojson")
    q.set_defaults(func=cmd_grids_import)

    p = sub.add_parser(
        "backup",
        help="copy the database (one consistent snapshot) and the files it refers to into DIR, "
        "with a manifest (sizes, SHA-256); prints the JSON summary",
    )
    p.add_argument("dir", help="a new or empty folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="restore a backup DIR into the (empty) database and data dir, after checking every "
        "file against its manifest",
    )
    p.add_argument("dir")
    p.add_argument(
        "--force", action="store_true", help="replace a database or data dir that is not empty"
    )
    p.set_defaults(func=cmd_restore)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        print(
            f"error: database: {reason} (is CLOSELOOP_DATABASE_URL right, and has "
            "`closeloop init` been run?)",
            file=sys.stderr,
        )
        return 2


def _engine():  # type: ignore[no-untyped-def]
    from closeloop.db import make_engine

    return make_engine(get_settings().database_url)


def cmd_init(args: argparse.Namespace) -> int:
    from closeloop.db import transaction, upgrade
    from closeloop.org import bootstrap

    url = get_settings().database_url
    upgrade(url)
    engine = _engine()
    with transaction(engine) as session:
        created = bootstrap.ensure_admin(
            session, username=args.admin_user, password=args.admin_password, now=SystemClock().now()
        )
    state = "created" if created else "already exists, unchanged"
    print(
        json.dumps(
            {
                "database": _safe(url),
                "schema": "up to date",
                "admin": args.admin_user,
                "admin_status": state,
            },
            ensure_ascii=False,
        )
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from closeloop.db import upgrade
    from closeloop.escalation.policy import load_policy

    settings = get_settings()
    load_policy(settings.escalation_policy)  # a bad policy stops the start with a clear error
    upgrade(settings.database_url)
    engine = _engine()
    if args.demo:
        from closeloop.demo.service import load_demo, print_users

        # The first start walks ~300 cases through the services: say so before the wait.
        print(
            "正在准备演示辖区（首次启动约需半分钟）… / "
            "preparing the demo district (about half a minute on the first start)…",
            flush=True,
        )
        users = load_demo(engine, now=SystemClock().now())
        print_users(users)
    app = create_app(engine=engine)
    from api.observability import configure_logging

    configure_logging(settings.log_format)  # every line: JSON or text, with its request id
    print(
        f"Closeloop 闭环: http://{args.host}:{args.port}/  API docs: "
        f"http://{args.host}:{args.port}/docs  database: {_safe(settings.database_url)}"
    )
    from workflows.embedded import start_embedded

    scheduler = start_embedded(engine, settings)
    settle_memory()
    try:
        # log_config=None: configure_logging above has set every logger, uvicorn's included.
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", log_config=None)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
    return 0


def settle_memory() -> None:
    """Once, when start-up is done: what start-up made (modules, the app, its routes and models,
    some 230,000 objects) lives as long as the process, so it leaves the garbage collector's
    generations (`gc.freeze`). A full collection then walks only what requests made since,
    instead of stalling every request in flight for ~100-300 ms (measured: bench/README.md,
    "Writes"). Nothing is leaked: the frozen objects were never garbage."""
    import gc

    gc.collect()
    gc.freeze()


def cmd_import(args: argparse.Namespace) -> int:
    from closeloop.auth.policy import Principal
    from closeloop.db import transaction
    from closeloop.imports import service as imports
    from models.enums import Role

    actor = Principal(id=None, username="cli", display_name="命令行导入", role=Role.admin)
    with open(args.file, "rb") as handle, transaction(_engine()) as session:
        result = imports.import_file(
            session, actor=actor, fileobj=handle, filename=args.file, now=SystemClock().now()
        )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_enterprises_import(args: argparse.Namespace) -> int:
    from closeloop.auth.policy import Principal
    from closeloop.db import transaction
    from closeloop.safety import enterprise_import
    from models.enums import Role

    actor = Principal(id=None, username="cli", display_name="命令行导入", role=Role.admin)
    with open(args.file, "rb") as handle, transaction(_engine()) as session:
        result = enterprise_import.import_file(
            session, actor=actor, fileobj=handle, filename=args.file, now=SystemClock().now()
        )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_org_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from closeloop.auth.policy import Principal
    from closeloop.db import transaction
    from closeloop.org.workbook.service import import_org
    from models.enums import Role

    actor = Principal(id=None, username="cli", display_name="命令行导入", role=Role.admin)
    data = Path(args.file).read_bytes()
    with transaction(_engine()) as session:
        result = import_org(
            session,
            data=data,
            filename=args.file,
            actor=actor,
            now=SystemClock().now(),
            sheet=args.sheet,
        )
        if result["rejected"]:
            session.rollback()  # the import wrote nothing; commit nothing either
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 2 if result["rejected"] else 0


def cmd_org_template(args: argparse.Namespace) -> int:
    from pathlib import Path

    from closeloop.org.workbook.template import template_workbook

    Path(args.out).write_bytes(template_workbook())
    print(args.out)
    return 0


def cmd_escalate(args: argparse.Namespace) -> int:
    from closeloop.clock import parse_now
    from closeloop.db import new_session
    from closeloop.escalation import service as escalation

    real = SystemClock().now()
    at = parse_now(args.now, default=real)
    escalation.check_now(at, real_now=real, dry_run=args.dry_run)  # a future now: exit 2
    if args.dry_run:
        with new_session(_engine()) as session:
            result = escalation.preview(session, now=at)
            session.rollback()  # read only: nothing to keep
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    from workflows.flows import run_job

    try:
        summary = run_job("escalation", now=at, engine=_engine())
    except escalation.EscalationIncomplete as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        print(json.dumps(exc.summary, ensure_ascii=False))  # what was done
        return 1
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from closeloop.auth.policy import SYSTEM
    from closeloop.clock import parse_now
    from closeloop.db import transaction
    from closeloop.reports import service as reports
    from closeloop.reports.periods import parse

    period = parse(args.cadence, args.period)  # a bad period stops here, before the database
    at = parse_now(args.now, default=SystemClock().now())
    as_of = parse_now(args.as_of, default=at) if args.as_of else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with transaction(_engine()) as session:
        report = reports.generate(
            session,
            actor=SYSTEM,
            cadence=args.cadence,
            period=period.key,
            region_code=args.region,
            now=at,
            as_of=as_of,
        )
        assert report.id is not None
        stem = f"report-{report.cadence}-{report.period}-{report.region_code}"
        written = {}
        for kind, (name, _type) in reports.FILES.items():
            target = (
                out
                / f"{stem}{'-bulletin' if kind.startswith('bulletin') else ''}{Path(name).suffix}"
            )
            shutil.copyfile(reports.report_dir(get_settings(), report.id) / name, target)
            written[kind] = str(target)
    print(
        json.dumps(
            {
                "id": report.id,
                "cadence": report.cadence,
                "period": report.period,
                "region_code": report.region_code,
                "title": report.title,
                "bulletin_number": report.bulletin_number,
                "summary": report.summary["total"],
                "files": written,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期应为 YYYY-MM-DD / expected YYYY-MM-DD, not {text!r}"
        ) from None


def cmd_metrics(args: argparse.Namespace) -> int:
    from closeloop.auth.policy import SYSTEM
    from closeloop.clock import parse_now
    from closeloop.db import transaction
    from closeloop.reports.metrics import ranking
    from closeloop.reports.metrics import service as metrics

    now = SystemClock().now()
    with transaction(_engine()) as session:
        report = metrics.compute(
            session,
            actor=SYSTEM,
            date_from=args.date_from,
            date_to=args.date_to,
            now=now,
            group_by=args.group_by,
            kind=args.kind,
            region_code=args.region,
            as_of=parse_now(args.as_of, default=now) if args.as_of else None,
            weights=ranking.parse_weights(args.weights) if args.weights else None,
        )
    print(report.model_dump_json(by_alias=True, indent=2))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from workflows.jobs import JOBS, TIMEZONE

    for job in JOBS:
        print(f"{job.name:<16} {job.cron:<24} {TIMEZONE}  flow={job.flow:<16} {job.description}")
    _print_runs()
    return 0


def _print_runs(limit: int = 20) -> None:
    """The latest runs in job_run (embedded or Prefect), when the database answers."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from closeloop.db import new_session
    from workflows import runs

    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return  # no database here: do not create one to say so
    try:
        with new_session(_engine()) as session:
            latest = runs.recent(session, limit=limit)
    except SQLAlchemyError:  # no database (yet): the job table is still worth printing
        print("\n(最近运行记录不可用 / latest runs unavailable: no database)")
        return
    print("\n最近运行 / latest runs:" if latest else "\n(尚无运行 / no runs yet)")
    for r in latest:
        finished = r.finished_at.isoformat(timespec="seconds") if r.finished_at else "-"
        print(
            f"{r.name:<16} {r.status:<8} {r.started_at.isoformat(timespec='seconds')}  "
            f"{finished:<25} {runs.where(r.holder)}  {r.summary[:200]}"
        )


def cmd_status(args: argparse.Namespace) -> int:
    from workflows import health

    summary = health.summary(_engine(), SystemClock().now())
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(health.render_text(summary), end="")
    return 0 if summary.healthy else (1 if summary.database_ok else 2)


def cmd_run_job(args: argparse.Namespace) -> int:
    from models.enums import JobStatus
    from workflows import jobs
    from workflows.embedded import EmbeddedScheduler

    job = jobs.get(args.name)
    run = EmbeddedScheduler(_engine(), jobs=(job,)).fire(job, keep_lease=False)
    if run is None:
        print(
            f"error: {job.name} 正在其他进程中运行 / is running in another process", file=sys.stderr
        )
        return 1
    print(run.summary)
    return 0 if run.status == JobStatus.ok else 1


def cmd_deploy(args: argparse.Namespace) -> int:
    from workflows import deploy

    if args.print_yaml:
        print(deploy.prefect_yaml(), end="")
    else:
        deploy.serve()
    return 0


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_grids_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from closeloop.db import transaction
    from closeloop.errors import Invalid
    from closeloop.geo import service as geo

    collection = geo.read_geojson(Path(args.file).read_bytes())
    try:
        with transaction(_engine()) as session:
            result = geo.import_geometry(session, collection=collection, now=SystemClock().now())
    except Invalid as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for e in exc.extra.get("errors", []):
            print(f"  feature {e['feature']} ({e['code']}): {e['error']}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from closeloop.backup import backup

    settings = get_settings()
    manifest = backup(settings.database_url, settings.data_dir, Path(args.dir))
    files = manifest["files"]
    summary = {
        "backup": args.dir,
        "database": manifest["database"],
        "schema_revision": manifest["schema_revision"],
        "created_at": manifest["created_at"],
        "files": len(files) - 1,
        "bytes": sum(int(f["size"]) for f in files),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from closeloop.backup import restore

    settings = get_settings()
    result = restore(settings.database_url, settings.data_dir, Path(args.dir), force=args.force)
    print(json.dumps({"restored": args.dir, **result}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
