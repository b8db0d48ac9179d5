"""Traffic counts for a time window, as the user's original status API gave them.

Counted with the time column's index (a range scan on ``created_at``), never a table scan.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exporter.failure import classify_table
from exporter.schema import table as make_table
from heartbeat_core.edges import EDGES
from heartbeat_core.sections import TableSpec

log = logging.getLogger(__name__)


def _bounds(spec: TableSpec, start: float, end: float) -> tuple[Any, Any]:
    if spec.time_kind == "unix":
        return start, end
    return (
        dt.datetime.fromtimestamp(start, dt.timezone.utc),
        dt.datetime.fromtimestamp(end, dt.timezone.utc),
    )


def _key(values: Any) -> tuple[str, ...]:
    return tuple("unknown" if v is None else str(v) for v in values)


def empty_traffic() -> dict[str, list[dict[str, Any]]]:
    return {edge.name: [] for edge in EDGES}


def window_counts(
    engine: Engine, tables: Mapping[str, TableSpec], start: float, end: float, limit: int
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """Per-edge counts in ``[start, end)``; a missing table gives an empty list, an outage an error."""
    result = empty_traffic()
    error = None
    for edge in EDGES:
        spec = tables[edge.table]
        t = make_table(spec)
        time_col = t.c[spec.time_column]
        lo, hi = _bounds(spec, start, end)
        keys = [] if not edge.keyed else [t.c[c] for c in spec.ip_columns]
        count = sa.func.count().label("n")
        query = sa.select(*keys, count).where(time_col >= lo, time_col < hi)
        if keys:
            query = query.group_by(*keys).order_by(sa.desc("n")).limit(limit)
        try:
            with engine.connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            if classify_table(engine, spec.table, exc) == "missing_table":
                continue
            log.warning("window count for %s failed: %s", edge.name, str(exc).splitlines()[0])
            error = "the pipeline database is unavailable"
            continue
        result[edge.name] = [edge.row(_key(row[:-1]), int(row[-1])) for row in rows]
    return result, error
