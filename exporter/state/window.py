"""Traffic counts for a time window, as the user's original status API gave them.

Whole minutes and hours come from the rollup (``exporter.state.rollup``) where it covers them; only
the partial minutes at the window's two ends, and whatever lies outside the rollup's cover
(before it began, past its retention, the minute being polled), are counted in SQL, each with
the time column's index (a range scan on ``created_at``), never a table scan. The answer is the
same as one ``GROUP BY`` over the whole window as of the last poll.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from exporter.sql.failure import classify_table
from exporter.sql.minute import HOUR, MINUTE
from exporter.sql.schema import table as make_table
from exporter.state.rollup import Rollup
from heartbeat_core.edges import EDGES, Key
from heartbeat_core.sections import TableSpec

log = logging.getLogger(__name__)


class MissingTable(Exception):
    pass


@dataclass
class WindowCounts:
    """What a window's counts cost the database, besides the counts themselves."""

    traffic: dict[str, list[dict[str, Any]]]
    error: str | None = None
    sql_seconds: float = 0.0
    sql_queries: int = 0
    from_rollup: dict[str, bool] = field(default_factory=dict)


def _bounds(spec: TableSpec, start: float, end: float, dialect: str) -> tuple[Any, Any]:
    if spec.time_kind == "unix":
        return start, end
    lo, hi = (dt.datetime.fromtimestamp(t, dt.timezone.utc) for t in (start, end))
    if dialect != "sqlite":
        return lo, hi
    return sa.literal(_sqlite_text(lo), sa.String()), sa.literal(_sqlite_text(hi), sa.String())


def _sqlite_text(when: dt.datetime) -> str:
    """A bound that compares right, as text, with both ways SQLite keeps a time.

    SQLite has no time type: a column holds ``YYYY-MM-DD HH:MM:SS`` (``CURRENT_TIMESTAMP``,
    the all-in-one's rows) or that with ``.ffffff`` (SQLAlchemy's), and compares them as strings.
    A bound written with a fraction of zeros (``…:00.000000``) sorts *after* a row at ``…:00``, so
    that row was counted by a window's SQL end and by the rollup's first minute alike. On a whole
    second the bound has no fraction, which sorts right against both forms.
    """
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{when.microsecond:06d}" if when.microsecond else text


def _key(values: Any) -> Key:
    return tuple("unknown" if v is None else str(v) for v in values)


def empty_traffic() -> dict[str, list[dict[str, Any]]]:
    return {edge.name: [] for edge in EDGES}


class WindowCounter:
    def __init__(self, engine: Engine, tables: Mapping[str, TableSpec], rollup: Rollup | None = None) -> None:
        self.engine = engine
        self.tables = tables
        self.rollup = rollup

    def _sql(self, spec: TableSpec, start: float, end: float, window: WindowCounts) -> Counter[Key]:
        """Rows per key (every IP column) in ``[start, end)``, by a range scan of the time index."""
        if end <= start:
            return Counter()
        t = make_table(spec)
        time_col = t.c[spec.time_column]
        lo, hi = _bounds(spec, start, end, self.engine.dialect.name)
        keys = [t.c[c] for c in spec.ip_columns]
        query = sa.select(*keys, sa.func.count()).where(time_col >= lo, time_col < hi)
        if keys:
            query = query.group_by(*keys)
        started = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            if classify_table(self.engine, spec.table, exc) == "missing_table":
                raise MissingTable(spec.table) from None
            raise
        finally:
            window.sql_seconds += time.perf_counter() - started
            window.sql_queries += 1
        return Counter({_key(row[:-1]): int(row[-1]) for row in rows if int(row[-1])})

    def _table(self, name: str, start: float, end: float, now: float, window: WindowCounts) -> Counter[Key]:
        spec = self.tables[name]
        cover = self.rollup.cover(name) if self.rollup is not None else None
        if cover is not None:
            first = max(math.ceil(start / MINUTE) * MINUTE, cover.since)
            last = min(math.floor(end / MINUTE) * MINUTE, cover.until)
            if first < last:
                assert self.rollup is not None
                window.from_rollup[name] = True
                counts, expired = self.rollup.counts(name, first, last, now)
                for lo, hi in ((start, first), *expired, (last, end)):
                    counts.update(self._sql(spec, lo, hi, window))
                return counts
        window.from_rollup[name] = False
        return self._sql(spec, start, end, window)

    def counts(self, start: float, end: float, limit: int, now: float | None = None) -> WindowCounts:
        """Per-edge counts in ``[start, end)``; a missing table gives an empty list, an outage an error.

        ``now`` (the exporter's clock; the window's end when not given) tells which of the
        rollup's buckets have expired."""
        now = end if now is None else now
        window = WindowCounts(empty_traffic())
        by_table: dict[str, Counter[Key] | None] = {}
        for name in dict.fromkeys(edge.table for edge in EDGES):
            try:
                by_table[name] = self._table(name, start, end, now, window)
            except MissingTable:
                by_table[name] = None
            except Exception as exc:  # the database or the rollup's Redis: the window is unknown
                log.warning("window count of %s failed: %s", name, str(exc).splitlines()[0])
                window.error = "the pipeline database is unavailable"
                by_table[name] = None
        for edge in EDGES:
            counts = by_table.get(edge.table)
            if counts is None:
                continue
            if not edge.keyed:
                window.traffic[edge.name] = [edge.row((), sum(counts.values()))]
                continue
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
            window.traffic[edge.name] = [edge.row(key, n) for key, n in top]
        return window


WEEK = 7 * 86400


def _week_ago(rollup: Rollup, table: str, steps: list[int], step: int, now: float) -> list[list[Any]]:
    """Rows in the same step a week before, from the rollup's hours (it keeps 8 days of them; a
    step shorter than an hour gets its share of that hour): the page draws its band around it."""
    if not steps:
        return []
    hours = rollup.series(table, steps[0] - WEEK, steps[-1] + step - WEEK + HOUR, HOUR, now)
    hourly = {t: None if c is None else sum(c.values()) for t, c in hours}
    points: list[list[Any]] = []
    for t in steps:
        value: float | None
        if step >= HOUR:
            parts = [hourly.get(h - WEEK) for h in range(t, t + step, HOUR)]
            value = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
        else:
            whole = hourly.get((t - WEEK) // HOUR * HOUR)
            value = None if whole is None else whole * step / HOUR
        points.append([t, value])
    return points


STEPS = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)


def trend_step(span: float, points: int = 120) -> int:
    """The finest step, in whole minutes or hours, that keeps a trend within ``points`` points."""
    return next((step for step in STEPS if span / step <= points), STEPS[-1])


def traffic_trend(rollup: Rollup, start: float, end: float, now: float, top: int = 5) -> dict[str, Any]:
    """Per edge: rows per step over the window, in total and for its ``top`` keys; from the rollup
    alone (a step it does not hold whole is null), so a trend costs the database nothing."""
    step = trend_step(end - start)
    tables = dict.fromkeys(e.table for e in EDGES)
    series = {name: rollup.series(name, start, end, step, now) for name in tables}
    trend: dict[str, Any] = {}
    week_ago = {name: _week_ago(rollup, name, [t for t, _ in series[name]], step, now) for name in tables}
    for edge in EDGES:
        steps = series[edge.table]
        points = [[t, None if c is None else sum(c.values())] for t, c in steps]
        entry: dict[str, Any] = {"step": step, "points": points, "top": [], "week_ago": week_ago[edge.table]}
        if edge.keyed:
            totals: Counter[Key] = Counter()
            for _, counts in steps:
                totals.update(counts or {})
            for key, n in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]:
                keyed = [[t, None if c is None else c.get(key, 0)] for t, c in steps]
                entry["top"].append({**edge.row(key, n), "points": keyed})
        trend[edge.name] = entry
    return trend
