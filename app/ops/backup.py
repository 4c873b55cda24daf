"""`samhandling backup PATH`: a consistent copy of the database while the service runs.

SQLite: the online backup API (a transactionally consistent copy, page by page, without stopping
writers). PostgreSQL: `pg_dump --format=custom` (one consistent snapshot), restored with
`pg_restore`. Either way, run `samhandling audit verify` against the restored copy: the chain and
its signed checkpoints travel with it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.settings import Settings


class BackupFailed(Exception):
    pass


def backup(settings: Settings, destination: Path) -> int:
    """Write the backup to `destination` (which must not exist); returns its size in bytes."""
    if destination.exists():
        raise BackupFailed(f"{destination} exists; choose a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(url.database or ":memory:")
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        environment = {**os.environ}
        if url.password:
            environment["PGPASSWORD"] = url.password
        command = ["pg_dump", "--format=custom", "--no-owner", f"--file={destination}"]
        for flag, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
            if value:
                command.append(f"{flag}={value}")
        command.append(url.database or "")
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, env=environment, timeout=3600)
        except FileNotFoundError:
            raise BackupFailed("pg_dump is not installed (PostgreSQL client tools)") from None
        except subprocess.CalledProcessError as error:
            raise BackupFailed(f"pg_dump failed: {error.stderr.strip()}") from None
    return destination.stat().st_size
