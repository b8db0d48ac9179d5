"""Realistic demo rows for the pipeline's log tables, for a first run and for benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exporter.schema import table
from heartbeat_receiver.config import DEFAULT_TABLES, TableSpec

COLLECTORS = [f"10.0.0.{n}" for n in range(11, 15)]
BACKENDS = ["10.0.1.2", "10.0.1.3"]
FRONTENDS = [f"10.0.2.{n}" for n in range(9, 17)]


def _ips(name: str, rng: random.Random) -> tuple[str, ...]:
    if name == "node_monitor_metrics":
        return (rng.choice(COLLECTORS),)
    if name == "access_logs":  # (server_addr, remote_addr): a backend answering a frontend
        return (rng.choice(BACKENDS), rng.choice(FRONTENDS))
    return (rng.choice(BACKENDS),)


def insert_demo_rows(
    engine: Engine,
    rows_per_table: int,
    *,
    specs: Mapping[str, TableSpec] = DEFAULT_TABLES,
    rng: random.Random | None = None,
    now: dt.datetime | None = None,
    spread_seconds: float = 60.0,
) -> int:
    """Insert ``rows_per_table`` rows into each log table, timed within the last ``spread_seconds``."""
    rng = rng or random.Random()
    now = now or dt.datetime.now(dt.timezone.utc)
    total = 0
    with engine.begin() as conn:
        for name, spec in specs.items():
            t = table(spec)
            rows = []
            for _ in range(rows_per_table):
                when = now - dt.timedelta(seconds=rng.uniform(0, spread_seconds))
                value: object = when if spec.time_kind == "timestamp" else when.timestamp()
                rows.append({**dict(zip(spec.ip_columns, _ips(name, rng))), spec.time_column: value})
            if rows:
                conn.execute(sa.insert(t), rows)
                total += len(rows)
    return total
