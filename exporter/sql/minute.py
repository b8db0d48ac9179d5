"""Minutes: what the traffic counts and the rollup are bucketed by, in Python and in SQL."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import sqlalchemy as sa

MINUTE, HOUR = 60, 3600


def seconds_of(value: float | dt.datetime) -> float:
    """Unix seconds of a time column's value: Unix seconds already, or a datetime (naive ones
    are UTC, as SQLite gives them back)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.timestamp()
    return float(value)


def minute_of(value: float | dt.datetime) -> int:
    """The number of the minute (since the epoch) a time falls in."""
    return math.floor(seconds_of(value) / MINUTE)


def minute_expression(column: Any, kind: str, dialect: str) -> Any:
    """When a row's minute began (a timestamp, or Unix seconds), computed by the database;
    :func:`minute_of` turns it into the minute's number. ``date_trunc`` is the cheapest on
    PostgreSQL: ``extract(epoch …)`` returns numeric from version 14 and cost the poll 2.3×."""
    if dialect == "postgresql":
        return sa.func.date_trunc("minute", column) if kind != "unix" else sa.func.floor(column / 60) * 60
    # SQLite: timestamps are stored as UTC text; CAST truncates, which is floor for times after 1970
    seconds = column if kind == "unix" else sa.func.strftime("%s", column)
    return sa.cast(sa.cast(seconds, sa.Float) / 60, sa.Integer) * 60
