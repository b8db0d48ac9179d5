"""Typed database failures: what went wrong, from the exception's class and its SQLSTATE.

The reason becomes a label value (``heartbeat_database_probe_failures_total{reason}``,
``heartbeat_traffic_poll_errors_total{reason}``), so it takes a few fixed values and never
depends on the wording of a driver's message, which changes across versions and locales.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

import sqlalchemy as sa

from exporter.sql.database import DeadlineExceeded

Reason = Literal["connect", "auth", "timeout", "query", "missing_table", "other"]
# the probe's reasons; a poll adds missing_table
REASONS: tuple[Reason, ...] = ("connect", "auth", "timeout", "query", "other")

# SQLSTATE classes (the first two characters) and codes, PostgreSQL Appendix A
_BY_CLASS: dict[str, Reason] = {"08": "connect", "28": "auth", "53": "connect", "57": "connect"}
_BY_CODE: dict[str, Reason] = {
    "57014": "timeout",  # query_canceled: statement_timeout, or our cancel at the deadline
    "55P03": "timeout",  # lock_not_available
    "42P01": "missing_table",  # undefined_table
    "42501": "auth",  # insufficient_privilege
}
# SQLite's primary result codes (sqlite3.Error.sqlite_errorname, Python 3.11+)
_SQLITE: dict[str, Reason] = {
    "SQLITE_BUSY": "timeout",
    "SQLITE_LOCKED": "timeout",
    "SQLITE_INTERRUPT": "timeout",
    "SQLITE_CANTOPEN": "connect",
    "SQLITE_NOTADB": "connect",
    "SQLITE_AUTH": "auth",
    "SQLITE_PERM": "auth",
    "SQLITE_READONLY": "auth",
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver attached to the error (psycopg2's ``pgcode``, psycopg's ``sqlstate``)."""
    original = getattr(exc, "orig", exc)
    code = getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def classify(exc: BaseException) -> Reason:
    if isinstance(exc, (DeadlineExceeded, TimeoutError, sa.exc.TimeoutError)):
        return "timeout"  # our deadline, or no pooled connection came free in time
    code = sqlstate(exc)
    if code is not None:
        return _BY_CODE.get(code) or _BY_CLASS.get(code[:2], "query")
    original = getattr(exc, "orig", exc)
    if isinstance(original, sqlite3.Error):
        return _SQLITE.get(getattr(original, "sqlite_errorname", ""), "query")
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return "connect"  # raised before the server answered anything: no SQLSTATE to read
    if isinstance(exc, sa.exc.DBAPIError):
        return "query"
    return "other"


def classify_table(engine: sa.Engine, table: str, exc: BaseException) -> Reason:
    """:func:`classify`, and ``missing_table`` for a failed query on a table that is not there.

    SQLite reports a missing table with the generic SQLITE_ERROR only, so the catalog is asked.
    """
    reason = classify(exc)
    if reason == "query":
        try:
            if not sa.inspect(engine).has_table(table):
                return "missing_table"
        except sa.exc.SQLAlchemyError:
            pass  # the catalog cannot be read either: keep what the error said
    return reason
