"""The `samhandling` command (also `python -m app`). Results go to stdout, logs to stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.enums import AgencyKind, Role
from app.settings import Settings, get_settings

OPENAPI_PATH = Path("openapi") / "openapi.json"

Handler = Callable[[argparse.Namespace], int]


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# -- schema and service ---------------------------------------------------------------------


def cmd_migrate(_args: argparse.Namespace) -> int:
    from app.events.secret_box import ensure_secrets_key
    from app.ops.migrations import upgrade
    from app.security.keys import ensure_signing_key

    settings = get_settings()
    upgrade(settings)
    created = _ensure_log_partitions(settings)
    signing = ensure_signing_key(settings.signing_key_file)
    secrets = ensure_secrets_key(settings.secrets_key_file)
    logging.getLogger("samhandling.cli").info(
        "migrated; signing key %s; secrets key %s; log partitions created: %s",
        "created" if signing else "present",
        "created" if secrets else "present",
        ", ".join(created) or "none",
    )
    return 0


def _ensure_log_partitions(settings: Settings) -> list[str]:
    from app.audit.partitions import ensure_log_partitions
    from app.db import create_sync_engine

    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            return ensure_log_partitions(connection, datetime.now(UTC))
    finally:
        engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.http.server import MAX_HEADER_BYTES, PROTOCOL

    if args.port is not None:
        # The worker processes read their settings afresh: the issuer follows the port (settings.py).
        os.environ["SAMHANDLING_PORT"] = str(args.port)
        get_settings.cache_clear()
    settings = get_settings()
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process counts for itself; a shared folder lets /metrics sum them all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="samhandling-metrics-")
    if settings.metrics_enabled and settings.metrics_port is not None:
        from app.observability import serve_metrics

        serve_metrics(args.host, settings.metrics_port)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=settings.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the app honours X-Forwarded-* from trusted proxies itself (app/http/forwarded.py)
        timeout_graceful_shutdown=10,
        # Half-open and slow connections are closed: idle after a response, and before a
        # request's headers are complete (app/http/server.py); the body has its own deadline.
        http=PROTOCOL,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    from app.observability import configure_logging
    from app.ops.worker import main as run_worker

    settings = get_settings()
    configure_logging(settings.log_level)
    run_worker(settings)
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


# -- agencies, clients and keys -------------------------------------------------------------


def _run(coroutine: Coroutine[Any, Any, int]) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.errors import AppError

    try:
        return asyncio.run(coroutine)
    except AppError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(f"error: the database refused: {error.__class__.__name__}: {error.args[0]}", file=sys.stderr)
        print("(has `samhandling migrate` been run against this DATABASE_URL?)", file=sys.stderr)
        return 1


def cmd_agencies_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.ops.operator import operator_transaction
    from app.schemas.agency import AgencyCreate, AgencyPublic
    from app.services.agencies import create_agency

    try:
        data = AgencyCreate(
            id=args.id,
            kind=args.kind,
            name=args.name,
            municipality=args.municipality,
            organisation_number=args.organisation_number,
            school_unit_code=args.school_unit_code,
            hsa_id=args.hsa_id,
        )
    except ValidationError as error:
        for issue in error.errors():
            print(f"error: {'.'.join(map(str, issue['loc']))}: {issue['msg']}", file=sys.stderr)
        return 2

    async def add() -> int:
        async with operator_transaction(get_settings(), "agencies add") as (session, context):
            agency = await create_agency(session, data)
            context.audit("agency", agency.id)
            public = AgencyPublic.model_validate(agency, from_attributes=True)
        print(public.model_dump_json(indent=2))
        return 0

    return _run(add())


def cmd_clients_add(args: argparse.Namespace) -> int:
    from app.ops.operator import operator_transaction
    from app.security.scopes import scopes_for
    from app.services.clients import create_client

    async def add() -> int:
        async with operator_transaction(get_settings(), "clients add") as (session, context):
            client, kind, secret = await create_client(
                session, agency_id=args.agency, role=args.role, name=args.name, platform=args.platform
            )
            context.audit("client", client.client_id)
        print(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "client_secret": secret,
                    "agency_id": client.agency_id,
                    "role": client.role,
                    "scopes": sorted(scopes_for(kind, client.role)),
                    "platform": client.platform,
                }
            )
        )
        return 0

    return _run(add())


def cmd_clients_revoke(args: argparse.Namespace) -> int:
    from app.ops.operator import operator_transaction
    from app.services.clients import revoke_client

    async def revoke() -> int:
        async with operator_transaction(get_settings(), "clients revoke") as (session, context):
            context.audit("client", args.client_id)
            client, _kind = await revoke_client(session, args.client_id)
        _print_json({"client_id": client.client_id, "revoked_at": client.revoked_at})
        return 0

    return _run(revoke())


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from app.security.keys import KeyRing, rotate_signing_key
    from app.security.tokens import LEEWAY_SECONDS

    settings = get_settings()
    path = settings.signing_key_file
    before = KeyRing.load(path)
    # The previous key is retired by this rotation: tokens it signed must have expired. It signed
    # until the current key had been published for the delay, and its tokens live a TTL longer.
    safe_from = before.current_since + settings.key_publish_delay_seconds + settings.token_ttl + LEEWAY_SECONDS
    if before.previous is not None and time.time() < safe_from and not args.force:
        wait = math.ceil(safe_from - time.time())
        print(
            f"refused: tokens signed by the previous key {before.previous.kid} may still be valid for {wait} s "
            "(the key publish delay plus the token lifetime since the last rotation); rotating now would "
            "make them fail. Wait, or pass --force.",
            file=sys.stderr,
        )
        return 1
    rotate_signing_key(path)
    ring = KeyRing.load(path)
    signs_from = datetime.fromtimestamp(ring.current_since + settings.key_publish_delay_seconds, UTC)
    _print_json(
        {
            "kid": ring.current.kid,
            "previous_kid": before.current.kid,
            "retired_kids": [key.kid for key in ring.retired],
            "signs_tokens_from": signs_from.isoformat().replace("+00:00", "Z"),
        }
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from app.audit.verify import run_verification
    from app.audit.verify_failures import EXIT_BROKEN, EXIT_COULD_NOT_CHECK, EXIT_INTACT, could_not_check
    from app.security.keys import KeyRing

    settings = get_settings()
    path = settings.signing_key_file
    # Without the keys no checkpoint or tree head can be checked: that is "could not check",
    # never "broken" (migrate makes the key; a missing one is a deployment fault).
    try:
        keys = KeyRing.load(path)
    except (OSError, ValueError) as error:
        print(f"audit verify: could not check: the signing key {path} cannot be read: {error}", file=sys.stderr)
        return EXIT_COULD_NOT_CHECK
    try:
        result = run_verification(settings, keys, checkpoint=not args.no_checkpoint, incremental=not args.full)
    except Exception as error:
        reason = could_not_check(error, settings)
        if reason is None:
            raise
        print(f"audit verify: could not check: {reason}", file=sys.stderr)
        return EXIT_COULD_NOT_CHECK
    _print_json(result.summary())
    where = f"after checkpoint {result.from_seq}" if result.from_seq else "from the first entry"
    print(f"audit verify: checked {result.entries} entries {where}, up to {result.head_seq}", file=sys.stderr)
    if not result.valid:
        print(f"broken at entry {result.first_invalid_seq}: {result.reason}", file=sys.stderr)
        return EXIT_BROKEN
    return EXIT_INTACT


def cmd_audit_partitions(args: argparse.Namespace) -> int:
    from app.audit.partitions import list_log_partitions
    from app.db import create_sync_engine

    engine = create_sync_engine(get_settings())
    try:
        with engine.connect() as connection:
            partitions = list_log_partitions(connection, exact=not args.estimate)
    finally:
        engine.dispose()
    _print_json({"partitioned": bool(partitions), "partitions": [partition.summary() for partition in partitions]})
    return 0


def cmd_audit_witness(args: argparse.Namespace) -> int:
    import httpx

    from app.audit.witness import WitnessFailed, token_for, witness

    client_id = os.environ.get("SAMHANDLING_WITNESS_CLIENT_ID")
    client_secret = os.environ.get("SAMHANDLING_WITNESS_CLIENT_SECRET")
    if not client_id or not client_secret:
        print("error: set SAMHANDLING_WITNESS_CLIENT_ID and _SECRET (an auditor client)", file=sys.stderr)
        return 2
    base_url = (args.url or get_settings().issuer).rstrip("/")
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            summary = witness(http, Path(args.tree_head), token_for(http, client_id, client_secret))
    except WitnessFailed as error:
        print(f"witness: {error}", file=sys.stderr)
        return 1
    except httpx.HTTPError as error:
        print(f"witness: the service could not be reached: {error}", file=sys.stderr)
        return 1
    _print_json(summary)
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """`retention plan` counts what is past retention; `retention run` purges it (logged)."""
    from app.db import Database, create_api_engine
    from app.ops.operator import cli_actor
    from app.ops.retention import plan_retention, run_retention

    settings = get_settings()

    async def run() -> dict[str, object]:
        database = Database(create_api_engine(settings))
        try:
            if args.action == "plan":
                return await plan_retention(database, settings)
            return await run_retention(database, settings, cli_actor())
        finally:
            await database.dispose()

    _print_json(_run_value(run()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.ops.demo import render, seed_demo

    settings = get_settings()
    clients, created = _run_value(seed_demo(settings))
    print(render(clients, created, args.base_url or settings.issuer.rstrip("/")))
    return 0


def _run_value(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def cmd_backup(args: argparse.Namespace) -> int:
    from app.ops.backup import BackupFailed, backup

    settings = get_settings()
    try:
        size = backup(settings, Path(args.path))
    except BackupFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    _print_json({"backup": str(args.path), "bytes": size, "database": settings.database_url.split(":", 1)[0]})
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
    serve.add_argument("--port", type=int, help="default: PORT or SAMHANDLING_PORT, else 8000")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("worker", help="deliver webhooks and run the schedules").set_defaults(handler=cmd_worker)

    openapi = commands.add_parser("openapi", help="write openapi/openapi.json, or check it")
    openapi.add_argument("--check", action="store_true", help="fail if the file differs")
    openapi.add_argument("--output", default=str(OPENAPI_PATH))
    openapi.set_defaults(handler=cmd_openapi)

    agencies = commands.add_parser("agencies", help="manage agencies").add_subparsers(dest="action", required=True)
    add_agency = agencies.add_parser("add", help="register an agency")
    add_agency.add_argument("--id", required=True, help="a slug: lower-case letters, digits, -")
    add_agency.add_argument("--kind", required=True, choices=[kind.value for kind in AgencyKind])
    add_agency.add_argument("--name", required=True)
    add_agency.add_argument("--municipality")
    add_agency.add_argument("--organisation-number")
    add_agency.add_argument("--school-unit-code")
    add_agency.add_argument("--hsa-id")
    add_agency.set_defaults(handler=cmd_agencies_add)

    clients = commands.add_parser("clients", help="manage agency clients").add_subparsers(dest="action", required=True)
    add_client = clients.add_parser("add", help="create a client; prints its secret once, as JSON")
    add_client.add_argument("--agency", required=True)
    add_client.add_argument("--role", required=True, choices=[role.value for role in Role])
    add_client.add_argument("--name", required=True)
    add_client.add_argument(
        "--platform",
        action="store_true",
        help="with --role admin: a platform admin, managing every agency and client (else only its own agency)",
    )
    add_client.set_defaults(handler=cmd_clients_add)
    revoke = clients.add_parser("revoke", help="revoke a client; its tokens stop working at once")
    revoke.add_argument("client_id")
    revoke.set_defaults(handler=cmd_clients_revoke)

    audit = commands.add_parser("audit", help="the access log").add_subparsers(dest="action", required=True)
    verify = audit.add_parser(
        "verify",
        help="verify the hash chain: exit 0 when intact, 1 when broken, 2 when it could not be checked",
        description="Verify the access log's hash chain and Merkle tree, from the latest signed checkpoint "
        "that holds (or, with --full, from the first entry), and sign the verified head. Exit status: 0 intact "
        "(JSON summary on stdout), 1 broken — the first broken entry on stdout and stderr, 2 could not check "
        "(database unreachable, a statement past SAMHANDLING_AUDIT_VERIFY_TIMEOUT_SECONDS, signing key "
        "missing): one line on stderr.",
    )
    verify.add_argument("--no-checkpoint", action="store_true", help="do not sign and store the verified head")
    verify.add_argument(
        "--full", action="store_true", help="verify every entry from the first, not only those after the checkpoint"
    )
    verify.set_defaults(handler=cmd_audit_verify)
    partitions = audit.add_parser(
        "partitions", help="the log's monthly partitions (PostgreSQL) with their bounds and rows, as JSON"
    )
    partitions.add_argument(
        "--estimate", action="store_true", help="rows from the planner's statistics instead of counting (large logs)"
    )
    partitions.set_defaults(handler=cmd_audit_partitions)
    witness = audit.add_parser(
        "witness", help="check that the log only grew since the tree head in FILE, then store the new head there"
    )
    witness.add_argument("--tree-head", required=True, metavar="FILE", help="the witness's signed tree head (JSON)")
    witness.add_argument("--url", help="the service's base URL (default: SAMHANDLING_ISSUER)")
    witness.set_defaults(handler=cmd_audit_witness)

    retention = commands.add_parser("retention", help="retention (gallring) of child records and of the log's months")
    retention_actions = retention.add_subparsers(dest="action", required=True)
    retention_actions.add_parser("plan", help="count what is past retention (JSON); changes nothing")
    retention_actions.add_parser("run", help="purge what is past retention; prints the counts (JSON)")
    retention.set_defaults(handler=cmd_retention)

    demo = commands.add_parser("demo", help="seed a sandbox municipality and print its credentials")
    demo.add_argument("--base-url", help="where the API answers (default: SAMHANDLING_ISSUER)")
    demo.set_defaults(handler=cmd_demo)

    backup = commands.add_parser("backup", help="a consistent copy of the database (SQLite file or pg_dump)")
    backup.add_argument("path", help="the backup file to write (must not exist)")
    backup.set_defaults(handler=cmd_backup)

    keys = commands.add_parser("keys", help="manage the token signing key").add_subparsers(dest="action", required=True)
    rotate = keys.add_parser(
        "rotate",
        help="new signing key, in the JWKS at once and signing after SAMHANDLING_KEY_PUBLISH_DELAY_SECONDS; "
        "the previous one stays in the JWKS, older ones verify checkpoints",
    )
    rotate.add_argument(
        "--force", action="store_true", help="rotate even while tokens of the key it retires may still be valid"
    )
    rotate.set_defaults(handler=cmd_keys_rotate)
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
