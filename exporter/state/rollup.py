"""Per-minute and per-hour traffic counts in Redis, so that a window never scans the log tables.

The traffic poll already sees every new row (and every late one, through its gaps); it also
groups them by the minute of their time column. One exporter, the holder of a lease in Redis,
adds those counts here: per log table, per minute and per hour, per key (the row's IP values).
A window is then answered from whole hours and whole minutes, and only the partial minutes at
its two ends (and whatever lies outside what the rollup covers) go to SQL (``exporter.state.window``).

Its keys (``{P}:rollup:…``) are described in ``heartbeat_core.keys``.

Buckets are packed strings rather than hashes: at 1,000 keys a Redis hash leaves its compact
encoding and costs ~80 bytes a field, a packed bucket ~8 (docs/benchmarks.md has the figures).
Exactly once: the counts of a poll and the new ``until`` are written by one script, which
checks the lease first, so two exporters on one Redis never both add the same rows; a new
writer starts a new ``since``, and the minutes before it are counted by SQL again.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.sql.minute import HOUR, MINUTE, minute_of
from heartbeat_core.config import Settings
from heartbeat_core.edges import Key
from heartbeat_core.keys import KeySpace
from heartbeat_core.scripts import ROLLUP_RELEASE_SCRIPT, ROLLUP_WRITE_SCRIPT

ID_COUNTER = "\n#next"  # the ids hash's counter: a field no key can be (keys hold no newline)


@dataclass(frozen=True)
class Coverage:
    """The minutes ``[since, until)`` whose rows the rollup holds whole (Unix seconds, on minutes)."""

    since: float
    until: float


class Rollup:
    def __init__(
        self,
        space: KeySpace,
        *,
        retention: float,
        minute_retention: float,
        lease_seconds: float,
        owner: str | None = None,
    ) -> None:
        self.space = space
        self.client = space.client
        self.retention = retention
        self.minute_retention = minute_retention
        self.lease_ms = int(lease_seconds * 1000)
        self.owner = owner or uuid.uuid4().hex
        self._write = space.script(ROLLUP_WRITE_SCRIPT)
        self._release = space.script(ROLLUP_RELEASE_SCRIPT)
        self._since: dict[str, int] = {}  # tables this writer has started covering, and from when

    def write(self, table: str, counts: Mapping[tuple[int, Key], int], polled_at: float) -> bool:
        """Add one poll's counts (per minute and key); False when another exporter is the writer.

        The first write of a table (or the first after losing the lease) starts its cover at the
        next whole minute: rows of earlier minutes may have been counted by another writer.
        """
        until = minute_of(polled_at)  # the minute being polled may still get rows: not whole yet
        fresh = table not in self._since
        since = self._since.get(table, until + 1)
        minutes: dict[int, Counter[Key]] = {}
        hours: dict[int, Counter[Key]] = {}
        for (minute, key), n in counts.items():
            if minute < since:
                continue
            minutes.setdefault(minute, Counter())[key] += n
            hours.setdefault(minute * MINUTE // HOUR, Counter())[key] += n
        args: list[Any] = [
            self.owner,
            self.lease_ms,
            str(since * MINUTE) if fresh else "",
            str(max(until, since) * MINUTE),
            int(self.minute_retention),
            int(self.retention),
        ]
        for level, buckets in (("m", minutes), ("h", hours)):
            for number, keyed in buckets.items():
                lines = "".join(f"{_joined(key)}\t{n}\n" for key, n in keyed.items())
                args += [self.space.rollup(table, f"{level}:{number}"), level, lines]
        keys = [self.space.rollup_lease, self.space.rollup(table, "cover"), self.space.rollup(table, "ids")]
        if not self._write(keys=keys, args=args):
            self._since.clear()  # not the writer (any more): a later lease starts new covers
            return False
        self._since[table] = since
        return True

    def release(self) -> bool:
        """Give the lease back (this exporter stops): True when it held it."""
        self._since.clear()
        return bool(self._release(keys=[self.space.rollup_lease], args=[self.owner]))

    def forget(self, table: str) -> None:
        """Counts of ``table`` were lost: its next write starts a new cover."""
        self._since.pop(table, None)

    def cover(self, table: str) -> Coverage | None:
        raw = self.client.hgetall(self.space.rollup(table, "cover"))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if "since" not in fields or "until" not in fields:
            return None
        return Coverage(float(fields["since"]), float(fields["until"]))

    def _read(self, table: str, buckets: list[tuple[str, int]]) -> list[Counter[Key]]:
        if not buckets:
            return []
        raw = self.client.mget([self.space.rollup(table, f"{level}:{n}") for level, n in buckets])
        found = self.client.hgetall(self.space.rollup(table, "ids")).items()
        names = {_text(v): _text(k) for k, v in found if _text(k) != ID_COUNTER}
        found = []
        for packed in raw:
            counts: Counter[Key] = Counter()
            for pair in _text(packed or b"").split(","):
                if pair:
                    ident, _, n = pair.partition(":")
                    counts[tuple(names[ident].split("\t"))] += int(n)
            found.append(counts)
        return found

    def plan(self, start: int, end: int, now: float) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
        """The buckets that hold ``[start, end)`` (whole minutes inside the cover): whole hours
        where they fit, minutes at the ends; and the ranges whose buckets have expired (older
        than the retention of their level), which SQL must count instead."""
        minutes_from = now - self.minute_retention + MINUTE  # a minute's bucket lives this long
        hours_from = now - self.retention + MINUTE
        buckets: list[tuple[str, int]] = []
        expired: list[tuple[int, int]] = []
        t = start
        while t < end:
            if t % HOUR == 0 and t + HOUR <= end and t >= hours_from:
                buckets.append(("h", t // HOUR))
                t += HOUR
            elif t >= minutes_from:
                buckets.append(("m", t // MINUTE))
                t += MINUTE
            else:
                stop = min(end, (t // HOUR + 1) * HOUR)  # from the next hour, its bucket may serve
                if expired and expired[-1][1] == t:
                    expired[-1] = (expired[-1][0], stop)
                else:
                    expired.append((t, stop))
                t = stop
        return buckets, expired

    def counts(
        self, table: str, start: float, end: float, now: float
    ) -> tuple[Counter[Key], list[tuple[int, int]]]:
        """Rows per key in ``[start, end)`` (whole minutes inside the cover), and what is left to SQL."""
        buckets, expired = self.plan(int(start), int(end), now)
        total: Counter[Key] = Counter()
        for counts in self._read(table, buckets):
            total.update(counts)
        return total, expired

    def series(
        self, table: str, start: float, end: float, step: int, now: float
    ) -> list[tuple[int, Counter[Key] | None]]:
        """Rows per key in each ``step`` (a whole number of minutes, or of hours) of the window;
        None for a step the cover does not hold whole, or whose buckets have expired. Read from
        the rollup alone: no SQL."""
        cover = self.cover(table)
        level, size = ("h", HOUR) if step % HOUR == 0 else ("m", MINUTE)
        alive = now - (self.retention if level == "h" else self.minute_retention) + MINUTE
        first = math.floor(start / step) * step
        steps = list(range(first, int(end), step))
        inside = [
            t for t in steps if cover is not None and max(cover.since, alive) <= t and t + step <= cover.until
        ]
        buckets = [(level, (t + k) // size) for t in inside for k in range(0, step, size)]
        counts = iter(self._read(table, buckets))
        merged: dict[int, Counter[Key]] = {}
        for t in inside:
            total: Counter[Key] = Counter()
            for _ in range(step // size):
                total.update(next(counts))
            merged[t] = total
        return [(t, merged.get(t)) for t in steps]


def _joined(key: Key) -> str:
    """A key as one line of the script's input: its values cannot break the line or the split."""
    return "\t".join(part.replace("\t", " ").replace("\n", " ") for part in key)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def make_rollup(space: KeySpace, settings: Settings) -> Rollup:
    return Rollup(
        space,
        retention=settings.rollup_retention,
        minute_retention=settings.rollup_minute_retention,
        lease_seconds=max(30.0, settings.poll_interval * 4),
    )
