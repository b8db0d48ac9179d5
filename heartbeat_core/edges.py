"""The pipeline's edges and the SQL log tables they are counted from, each declared once here.

Everything else reads this registry: the configuration's defaults (``tables``), the traffic
counters and their labels, the status API's windows and JSON shapes, the demo rows, and the
generated ``deploy/postgres/init.sql``. A new edge is one entry in :data:`EDGES` (and, when it
reads a new table, one in :data:`LOG_TABLES`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

Key = tuple[str, ...]  # the values of a table's IP columns for one row

COLLECTORS = tuple(f"10.0.0.{n}" for n in range(11, 15))
BACKENDS = ("10.0.1.2", "10.0.1.3")
FRONTENDS = tuple(f"10.0.2.{n}" for n in range(9, 17))


@dataclass(frozen=True)
class LogTable:
    """A log table's default name and IP columns, and what a realistic demo row holds in them."""

    name: str
    ip_columns: tuple[str, ...]
    demo_ips: Callable[[random.Random], Key]


LOG_TABLES: tuple[LogTable, ...] = (
    LogTable("node_monitor_metrics", ("ip",), lambda rng: (rng.choice(COLLECTORS),)),
    LogTable("database_access_log", ("client_ip",), lambda rng: (rng.choice(BACKENDS),)),
    LogTable("redis_access_log", ("client_ip",), lambda rng: (rng.choice(BACKENDS),)),
    # (server_addr, remote_addr): a backend answering a frontend, as nginx names them
    LogTable(
        "access_logs",
        ("server_addr", "remote_addr"),
        lambda rng: (rng.choice(BACKENDS), rng.choice(FRONTENDS)),
    ),
)
LOG_TABLE_BY_NAME: Mapping[str, LogTable] = MappingProxyType({t.name: t for t in LOG_TABLES})


@dataclass(frozen=True)
class Edge:
    """One arrow of the pipeline picture.

    ``source`` and ``target`` are either a fixed label or the index of the table's IP column
    that gives it; ``fields`` names the status JSON's fields after those same indexes. An edge
    with no IP column in either end counts one series: the table's total.
    """

    name: str
    table: str
    source: str | int
    target: str | int
    fields: tuple[tuple[str, int], ...] = ()

    @property
    def keyed(self) -> bool:
        return isinstance(self.source, int) or isinstance(self.target, int)

    def labels(self, key: Key, *, ips: bool = True) -> tuple[str, str]:
        """(source, target) of the row key; without ``ips``, an end an IP column gives is empty."""
        return _pick(self.source, key, ips), _pick(self.target, key, ips)

    def row(self, key: Key, count: int) -> dict[str, Any]:
        """One entry of the status API's ``traffic_status`` for this edge."""
        return {**{field: key[index] for field, index in self.fields}, "count": count}


def _pick(end: str | int, key: Key, ips: bool = True) -> str:
    if isinstance(end, str):
        return end
    return key[end] if ips else ""


EDGES: tuple[Edge, ...] = (
    Edge("data_collection_to_kafka", "node_monitor_metrics", 0, "kafka", (("ip", 0),)),
    Edge("kafka_to_database", "node_monitor_metrics", "kafka", "database"),
    Edge("database_to_backend", "database_access_log", "database", 0, (("client_ip", 0),)),
    Edge("redis_to_backend", "redis_access_log", "redis", 0, (("client_ip", 0),)),
    Edge("backend_to_frontend", "access_logs", 0, 1, (("client_ip", 1), ("server_ip", 0))),
)
