"""The `samhandling` command (also `python -m app`). Results go to stdout, logs to stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from app.settings import get_settings

OPENAPI_PATH = Path("openapi") / "openapi.json"

Handler = Callable[[argparse.Namespace], int]


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# -- schema and service ---------------------------------------------------------------------


def cmd_migrate(_args: argparse.Namespace) -> int:
    from app.migrations_runner import upgrade
    from app.security.keys import ensure_signing_key

    settings = get_settings()
    upgrade(settings)
    created = ensure_signing_key(settings.signing_key_file)
    logging.getLogger("samhandling.cli").info("migrated; signing key %s", "created" if created else "present")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process counts for itself; a shared folder lets /metrics sum them all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="samhandling-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def openapi_document() -> str:
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    path = Path(args.output)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != document:
            print(f"{path} is out of date: run `samhandling openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    print(f"wrote {path}")
    return 0


# -- the parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="samhandling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply migrations; create the signing key if absent").set_defaults(
        handler=cmd_migrate
    )

    serve = commands.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    openapi = commands.add_parser("openapi", help="write openapi/openapi.json, or check it")
    openapi.add_argument("--check", action="store_true", help="fail if the file differs")
    openapi.add_argument("--output", default=str(OPENAPI_PATH))
    openapi.set_defaults(handler=cmd_openapi)
    return parser


def _configure_cli_logging() -> None:
    level = os.environ.get("SAMHANDLING_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    _configure_cli_logging()
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
