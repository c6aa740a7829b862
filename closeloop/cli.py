"""The command line: `closeloop init | serve | import` (escalate and report arrive with their issues)."""

import argparse
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError

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


def _engine():  # type: ignore[no-untyped-def]
    from closeloop.db import make_engine

    return make_engine(get_settings().database_url)


def cmd_init(args: argparse.Namespace) -> int:
    from closeloop.db import transaction, upgrade
    from closeloop.services import bootstrap

    url = get_settings().database_url
    upgrade(url)
    engine = _engine()
    with transaction(engine) as session:
        created = bootstrap.ensure_admin(session, username=args.admin_user,
                                         password=args.admin_password, now=SystemClock().now())
    state = "created" if created else "already exists, unchanged"
    print(json.dumps({"database": _safe(url), "schema": "up to date",
                      "admin": args.admin_user, "admin_status": state}, ensure_ascii=False))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from closeloop.db import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    if args.demo:
        from closeloop.demo import load_demo, print_users

        users = load_demo(engine, now=SystemClock().now())
        print_users(users)
    app = create_app(engine=engine)
    print(f"Closeloop 闭环: http://{args.host}:{args.port}/  API docs: "
          f"http://{args.host}:{args.port}/docs  database: {_safe(settings.database_url)}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from closeloop.db import transaction
    from closeloop.policy import Principal
    from closeloop.services import imports
    from models.enums import Role

    actor = Principal(id=None, username="cli", display_name="命令行导入", role=Role.admin)
    with open(args.file, "rb") as handle, transaction(_engine()) as session:
        result = imports.import_file(session, actor=actor, fileobj=handle, filename=args.file,
                                     now=SystemClock().now())
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
