"""Why a verification could not check the log: one line for the operator, never a traceback.

`samhandling audit verify` exits 1 only for a broken chain — evidence of tampering that somebody
must act on — and 2 when it could not tell (the database unreachable or too slow, the keys
missing): a monitoring job must be able to tell the two apart, and before this both were 1.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from app.settings import Settings

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_COULD_NOT_CHECK = 2

_QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (or a cancel) ended the statement


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def could_not_check(error: BaseException, settings: Settings) -> str | None:
    """The reason, when `error` means the check could not be made; None for anything else (a bug:
    let it surface)."""
    if isinstance(error, sa_exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if sqlstate == _QUERY_CANCELED:
            return (
                f"a statement ran longer than the verifier's timeout of {settings.audit_verify_timeout_seconds:g} s"
                " (SAMHANDLING_AUDIT_VERIFY_TIMEOUT_SECONDS)"
            )
        return f"the database could not answer: {_first_line(error.orig or error)}"
    if isinstance(error, sa_exc.SQLAlchemyError):
        return f"the database could not answer: {_first_line(error)}"
    if isinstance(error, OSError):  # e.g. SQLite's folder cannot be made, a socket error
        return f"the database could not be opened: {_first_line(error)}"
    return None
