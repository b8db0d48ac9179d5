"""Realistic demo rows for the pipeline's log tables, for a first run and for benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exporter.sql.schema import table
from heartbeat_core.edges import LOG_TABLE_BY_NAME
from heartbeat_core.sections import DEFAULT_TABLES, TableSpec


def insert_demo_rows(
    engine: Engine,
    rows_per_table: int,
    *,
    specs: Mapping[str, TableSpec] = DEFAULT_TABLES,
    rng: random.Random | None = None,
    now: dt.datetime | None = None,
    spread_seconds: float = 60.0,
) -> int:
    """Insert ``rows_per_table`` rows into each log table, timed within the last ``spread_seconds``.

    ``specs`` are the configured tables (``settings.tables``): their names and columns, which the
    user may have changed. The values come from each table's demo generator in the edge registry.
    """
    rng = rng or random.Random()
    now = now or dt.datetime.now(dt.timezone.utc)
    total = 0
    with engine.begin() as conn:
        for name, spec in specs.items():
            demo_ips = LOG_TABLE_BY_NAME[name].demo_ips
            rows = []
            for _ in range(rows_per_table):
                when = now - dt.timedelta(seconds=rng.uniform(0, spread_seconds))
                value: object = when if spec.time_kind == "timestamp" else when.timestamp()
                rows.append({**dict(zip(spec.ip_columns, demo_ips(rng))), spec.time_column: value})
            if rows:
                conn.execute(sa.insert(table(spec)), rows)
                total += len(rows)
    return total
