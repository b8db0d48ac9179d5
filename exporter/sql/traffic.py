"""Traffic along the pipeline, counted incrementally from the SQL log tables.

A poll never counts a whole table. Per table it keeps ``high``, the highest id counted, and
``gaps``, ranges of ids below ``high`` that were not visible yet. Each poll

* has the database count the rows with ``id > high`` per key (an index range scan with a
  literal bound, a few result rows) and, only when those ids are not contiguous, find the
  missing ranges with ``lead()`` in the same snapshot, and
* reads the rows whose ids fall in the open gaps: a transaction that took its id early but
  committed late becomes visible there, and is counted then, exactly once.

A gap is given up after the settle window (ids of rolled-back transactions never appear).
Counters live in memory and only grow: deleting old rows changes nothing, and a database
outage leaves them where they were until polls succeed again.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from exporter.sql.database import DeadlineRunner
from exporter.sql.failure import classify_table
from exporter.sql.minute import minute_expression, minute_of, seconds_of
from exporter.sql.schema import table as make_table
from heartbeat_core.edges import EDGES, Key
from heartbeat_core.sections import TableSpec

log = logging.getLogger(__name__)

OVERFLOW = "overflow"
MAX_GAP_CLAUSES = 64  # beyond this many open ranges, scan their span once and filter here

Row = tuple[Any, ...]  # (id, *key columns, time)


@dataclass
class Gap:
    lo: int
    hi: int
    since: float


@dataclass
class TableState:
    high: int | None = None
    gaps: list[Gap] = field(default_factory=list)
    counts: Counter[Key] = field(default_factory=Counter)
    total: int = 0
    overflow: int = 0
    missing: bool = False
    last_success: float | None = None
    newest: float | None = None  # when the newest row seen was written (freshness)
    # the last poll's rows per (minute of their time column, key): what the rollup adds
    delta: Counter[tuple[int, Key]] = field(default_factory=Counter)


@dataclass(frozen=True)
class EdgeSeries:
    source: str
    target: str
    value: int


@dataclass(frozen=True)
class TrafficSnapshot:
    edges: Mapping[str, tuple[EdgeSeries, ...]]
    overflow: Mapping[str, int]
    last_success: Mapping[str, float | None]
    errors: Mapping[tuple[str, str], int]
    poll_duration: float | None
    open_gaps: Mapping[str, int]
    newest: Mapping[str, float | None]  # per edge: when its newest row was written


class TableCounter:
    """Counts one log table; ``poll`` runs in the single background worker only."""

    def __init__(self, name: str, spec: TableSpec, settle_seconds: float, max_keys: int) -> None:
        self.name = name
        self.spec = spec
        self.table = make_table(spec)
        self.id = self.table.c[spec.id_column]
        self.key_columns = [self.table.c[c] for c in spec.ip_columns]
        self.time = self.table.c[spec.time_column]
        self.settle_seconds = settle_seconds
        self.max_keys = max_keys
        self.state = TableState()
        self._count_new: dict[str, sa.Select[Any]] = {}

    def count_new(self, dialect: str) -> sa.Select[Any]:
        """The new rows per key and minute, counted by the database: one index range scan, a few
        result rows. The bound is a parameter that the driver sends as a literal, so the planner
        sees the real value (a max(id) subquery as the bound is misplanned)."""
        if dialect not in self._count_new:
            minute = minute_expression(self.time, self.spec.time_kind, dialect)
            self._count_new[dialect] = (
                sa.select(
                    *self.key_columns, minute, sa.func.count(), sa.func.max(self.id), sa.func.max(self.time)
                )
                .where(self.id > sa.bindparam("high", type_=sa.BigInteger()))
                .group_by(*self.key_columns, minute)
            )
        return self._count_new[dialect]

    def _add(self, state: TableState, counted: Iterable[tuple[tuple[Any, ...], int, int]]) -> None:
        """Add ``(key values, minute, rows)``, folding keys past the cardinality limit into overflow."""
        for values, minute, n in counted:
            key = tuple("unknown" if v is None else str(v) for v in values)
            if key not in state.counts and len(state.counts) >= self.max_keys:
                key = (OVERFLOW,) * len(key)
                state.overflow += n
            state.counts[key] += n
            state.total += n
            state.delta[(minute, key)] += n

    def _last_row(self, conn: Connection) -> tuple[int, float | None]:
        """The highest id and the minute its row was written in: one lookup by the primary key."""
        row = conn.execute(sa.select(self.id, self.time).order_by(self.id.desc()).limit(1)).first()
        if row is None:
            return 0, None
        return int(row[0]), _newest(None, (row[1],))

    def _gap_rows(self, conn: Connection, gaps: list[Gap]) -> list[Row]:
        columns = [self.id, *self.key_columns, self.time]
        if len(gaps) <= MAX_GAP_CLAUSES:
            condition = sa.or_(*(self.id.between(g.lo, g.hi) for g in gaps))
            return [tuple(r) for r in conn.execute(sa.select(*columns).where(condition))]
        los = [g.lo for g in gaps]
        span = sa.select(*columns).where(self.id.between(gaps[0].lo, gaps[-1].hi))
        found: list[Row] = []
        for row in conn.execute(span):
            i = bisect.bisect_right(los, int(row[0])) - 1
            if i >= 0 and gaps[i].lo <= int(row[0]) <= gaps[i].hi:
                found.append(tuple(row))
        return found

    def _gaps_between(self, high: int, top: int) -> sa.Select[Any]:
        """The missing id ranges in (high, top], found by the database with lead() over the ids."""
        ids = sa.union_all(
            sa.select(sa.literal(high, sa.BigInteger()).label("id")),
            sa.select(self.id.label("id")).where(self.id > high, self.id <= top),
        ).subquery()
        following = sa.func.lead(ids.c.id).over(order_by=ids.c.id).label("following")
        pairs = sa.select(ids.c.id, following).subquery()
        return sa.select(pairs.c.id + 1, pairs.c.following - 1).where(pairs.c.following > pairs.c.id + 1)

    @staticmethod
    def _close(gaps: list[Gap], ids: list[int]) -> list[Gap]:
        """Remove the ids just counted from the open ranges (splitting a range where needed)."""
        result: list[Gap] = []
        found = sorted(ids)
        for gap in gaps:
            start = bisect.bisect_left(found, gap.lo)
            end = bisect.bisect_right(found, gap.hi)
            lo = gap.lo
            for seen in found[start:end]:
                if seen > lo:
                    result.append(Gap(lo, seen - 1, gap.since))
                lo = seen + 1
            if lo <= gap.hi:
                result.append(Gap(lo, gap.hi, gap.since))
        return result

    def poll(self, conn: Connection, now: float) -> None:
        """Count what arrived since the last poll; the state changes only if every query worked."""
        state = self.state
        high = state.high
        newest = state.newest
        if high is None:
            # counting begins now: rows already there are history, not traffic we saw arrive;
            # the newest of them says how fresh the table is
            high, newest = (0, None) if state.missing else self._last_row(conn)
        new = TableState(high, list(state.gaps), Counter(state.counts), state.total, state.overflow)
        new.newest = newest
        if new.gaps:
            late = self._gap_rows(conn, new.gaps)
            self._add(new, ((row[1:-1], minute_of(row[-1]), 1) for row in late))
            new.newest = _newest(new.newest, (row[-1] for row in late))
            new.gaps = self._close(new.gaps, [int(r[0]) for r in late])
        groups = conn.execute(self.count_new(conn.dialect.name), {"high": high}).all()
        if groups:
            top = max(int(g[-2]) for g in groups)
            if sum(int(g[-3]) for g in groups) != top - high:
                # some ids in (high, top] are not visible (yet): remember them as gaps. The same
                # snapshot (REPEATABLE READ) as the count, so nothing lands between the two.
                missing = conn.execute(self._gaps_between(high, top)).all()
                new.gaps.extend(Gap(int(row[0]), int(row[1]), now) for row in missing)
            self._add(new, ((g[:-4], minute_of(g[-4]), int(g[-3])) for g in groups))
            new.newest = _newest(new.newest, (g[-1] for g in groups))
            new.high = top
        new.gaps = [g for g in new.gaps if now - g.since <= self.settle_seconds]
        new.last_success = now
        self.state = new  # one assignment: readers see the old state or the new, never a mix


def _newest(known: float | None, times: Iterable[Any]) -> float | None:
    """The latest of ``known`` and the time column's values (a row may have none)."""
    found = [seconds_of(value) for value in times if value is not None]
    return max([*found, *([] if known is None else [known])], default=None)


class TrafficCounter:
    """All log tables, polled by one worker; ``snapshot`` is what scrapes and the status API read."""

    def __init__(
        self,
        engine: Engine,
        tables: Mapping[str, TableSpec],
        *,
        settle_seconds: float,
        max_keys: int,
        timeout: float,
        clock: Callable[[], float] = time.time,
        ip_labels: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.ip_labels = ip_labels  # False: the IP ends of a series are left empty (per-edge totals)
        self.timeout = timeout
        used = {edge.table for edge in EDGES}
        self.tables = {
            name: TableCounter(name, spec, settle_seconds, max_keys)
            for name, spec in tables.items()
            if name in used
        }
        self.runner = DeadlineRunner("traffic-poll")
        self.errors: Counter[tuple[str, str]] = Counter()
        self.poll_duration: float | None = None
        self._lock = threading.Lock()

    def poll(self) -> bool:
        """Poll every table; True when all succeeded. Never raises."""
        started = time.perf_counter()
        ok = True
        for name, counter in self.tables.items():
            try:
                self.runner.run(lambda c=counter: self._poll_table(c), self.timeout)  # type: ignore[misc]
            except Exception as exc:
                ok = False
                reason = classify_table(self.engine, counter.spec.table, exc)
                if reason == "missing_table":
                    counter.state.missing = True
                with self._lock:
                    self.errors[(name, reason)] += 1
                log.warning("traffic poll of %s failed (%s): %s", name, reason, str(exc).splitlines()[0])
        self.poll_duration = time.perf_counter() - started
        return ok

    def _poll_table(self, counter: TableCounter) -> None:
        with self.runner.connect(self.engine) as conn:
            if self.engine.dialect.name == "postgresql":
                # the count and the gap search must see one snapshot; SQLite's single writer
                # already orders commits by id
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                counter.poll(conn, self.clock())

    def snapshot(self) -> TrafficSnapshot:
        edges: dict[str, tuple[EdgeSeries, ...]] = {}
        overflow: dict[str, int] = {}
        last: dict[str, float | None] = {}
        gaps: dict[str, int] = {}
        newest: dict[str, float | None] = {}
        for edge in EDGES:
            counter = self.tables.get(edge.table)
            if counter is None:
                continue
            state = counter.state
            if not edge.keyed:
                series: tuple[EdgeSeries, ...] = (EdgeSeries(*edge.labels(()), state.total),)
                overflow[edge.name] = 0
            else:
                merged: Counter[tuple[str, str]] = Counter()
                for key, value in state.counts.items():
                    merged[edge.labels(key, ips=self.ip_labels)] += value
                series = tuple(EdgeSeries(s, t, v) for (s, t), v in sorted(merged.items()))
                overflow[edge.name] = state.overflow
            edges[edge.name] = series
            last[edge.name] = state.last_success
            gaps[edge.table] = len(state.gaps)
            newest[edge.name] = state.newest
        with self._lock:
            errors = dict(self.errors)
        return TrafficSnapshot(edges, overflow, last, errors, self.poll_duration, gaps, newest)
