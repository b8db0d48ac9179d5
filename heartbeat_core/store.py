"""The Redis store: how heartbeats are written and read.

The receiver writes through :meth:`HeartbeatStore.commit`; the exporter reads through
:meth:`HeartbeatStore.snapshot`. The keys are declared in ``heartbeat_core.keys``, the scripts in
``heartbeat_core.scripts``.

Receivers announce themselves with Redis' own clock (``TIME`` inside the script), and the
snapshot counts the live ones with the same clock, so hosts' clock skew cannot make a receiver
look dead or alive.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from heartbeat_core.checks import float_or_none
from heartbeat_core.config import Settings
from heartbeat_core.groupcommit import GroupCommit
from heartbeat_core.keys import KeySpace, RedisClient
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.record import Beat, ServiceRecord, decode, with_message
from heartbeat_core.scripts import RECORD_SCRIPT, REPLACE_SCRIPT, SNAPSHOT_SCRIPT
from heartbeat_core.stores import ReceiverRoll, SessionStore, WindowStore

PRUNE_BATCH = 20
NOTE_ATTEMPTS = 5


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    services: tuple[ServiceRecord, ...]
    refused_total: int
    receivers: int = 0  # receiver processes that announced themselves within the TTL
    windows: tuple[MaintenanceWindow, ...] = ()
    blind_since: float | None = None  # an exporter saw a blind spell start then, still on
    last_spell: tuple[float, float] | None = None  # (start, end) of the last blind spell that ended
    replayed_total: int = 0  # replayed heartbeats older than their service's last one


def accepted_count(beat: Beat, result: int) -> int:
    """A heartbeat's count as :meth:`HeartbeatStore.record_many` returned it; the cap's refusal raised."""
    if result < 0:
        raise CapacityExceeded(beat.name)
    return result


class CapacityExceeded(Exception):
    """A new service name arrived while the store already holds ``max_services`` services."""


def connect(url: str, *, cluster: bool = False, timeout: float = 2.0, single: bool = False) -> RedisClient:
    """A client that fails fast (no hidden retries) so callers can report the outage.

    ``single``: one connection behind the client's lock instead of a pool, for the receiver,
    whose writes go one batch at a time anyway (group commit); a pool's checkout and checkin
    cost it ~15% of its throughput. What the checkout also does, finding a connection that a
    Redis restart closed, :class:`HeartbeatStore` does before each command it sends.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "decode_responses": True,
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    options.update(retry=Retry(NoBackoff(), 0), health_check_interval=15)
    if single:
        try:
            return redis.Redis.from_url(url, single_connection_client=True, **options)
        except redis.ConnectionError as exc:
            # a single-connection client connects as it is made: with Redis down, a process
            # that starts now would never start. A pool connects on first use instead, so the
            # process starts, answers 503, and recovers when Redis does (a little slower).
            log.warning("Redis is unavailable at start (%s): a connection pool is used instead", exc)
    return redis.Redis.from_url(url, **options)


class HeartbeatStore:
    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "heartbeat",
        max_services: int = 10_000,
        retention_seconds: float = 7 * 86400.0,
    ) -> None:
        self.client = client
        self.space = KeySpace(client, prefix)
        self.max_services = max_services
        self.retention_seconds = retention_seconds
        self._record = self.space.script(RECORD_SCRIPT)
        self._snapshot = self.space.script(SNAPSHOT_SCRIPT)
        self._replace = self.space.script(REPLACE_SCRIPT)
        self._commits: GroupCommit[Beat, int] = GroupCommit(self.record_many)
        self.sessions = SessionStore(self.space)
        self.windows = WindowStore(self.space)
        self.receivers = ReceiverRoll(self.space, self._drop_closed_connection)
        # the last snapshot's records by name, with the stored text each was decoded from: a
        # service whose text did not change since is not decoded again (half of them, with
        # scrapes twice as often as beats)
        self._decoded: dict[str, tuple[tuple[str | None, ...], ServiceRecord]] = {}

    def ping(self) -> bool:
        self._drop_closed_connection()
        return bool(self.client.ping())

    def commit(self, beat: Beat) -> int:
        """Store one heartbeat; heartbeats committed by several threads at once share one Redis call.

        Raises :class:`CapacityExceeded` for a new name past the cap, and redis errors as they are.
        """
        return accepted_count(beat, self._commits.submit(beat))

    def record_many(self, beats: Sequence[Beat]) -> list[int]:
        """Store heartbeats in one atomic call; per heartbeat its count, or -1 where the cap refused it."""
        if not beats:
            return []
        self._drop_closed_connection()
        cutoff = min(beat.now for beat in beats) - self.retention_seconds
        args: list[str | int] = [repr(cutoff), PRUNE_BATCH]
        for beat in beats:
            cap = min(beat.cap or self.max_services, self.max_services)
            pairs = beat.script_fields()
            args += (4 + len(pairs) // 2, "name", beat.name, "now", repr(beat.now), "meta", beat.meta())
            args += ("cap", cap, *pairs)
        space = self.space
        keys = [*space.records, space.state, space.ingest, space.gaps, space.gaplog]
        return [int(n) for n in self._record(keys=keys, args=args)]

    def note(self, name: str, message: str) -> bool:
        """Set a known service's message and nothing else; False for a service the store does not hold.

        Read, changed, and written back only if no heartbeat wrote the record meanwhile (else read
        again): the record's other fields are JSON that only Python writes exactly.
        """
        self._drop_closed_connection()
        for _ in range(NOTE_ATTEMPTS):
            meta = self.client.hget(self.space.info, name)
            if meta is None:
                return False
            if self._replace(keys=[self.space.info], args=[name, meta, with_message(meta, message)]):
                return True
        return True  # heartbeats kept coming: each carried its own message, newer than this line

    def learned_gaps(self, name: str) -> list[float]:
        """The gaps the record script learned of a service, oldest first (``explain``)."""
        raw = self.client.hget(self.space.gaplog, name)
        text = raw.decode() if isinstance(raw, bytes) else raw or ""
        return [gap for gap in (float_or_none(part) for part in text.split(",")) if gap is not None]

    def _drop_closed_connection(self) -> None:
        """What a pool does at every checkout, for a single-connection client.

        A connection that Redis closed (a restart) reads as ready; sent on, a batch would fail
        with a 503 (and a readiness probe report "not ready") although Redis is back, and a
        blind retry of a batch could count it twice. Dropped here, the call connects afresh.
        One poll of the socket, under the client's own lock so that no other command is
        half-way on the connection.
        """
        connection = getattr(self.client, "connection", None)  # None for a pool or a cluster
        if connection is None:
            return
        with self.client.single_connection_lock:
            try:
                closed = connection.can_read()
            except redis.ConnectionError:
                closed = True  # cannot even connect: the call below reports it
            if closed:
                connection.disconnect()

    def snapshot(self, receiver_ttl: float = 10.0) -> Snapshot:
        """Everything the exporter reads, in one atomic script call."""
        self._drop_closed_connection()
        space = self.space
        records, tracking = space.records[:4], space.records[4:9]
        keys = [
            *records,
            space.receivers,
            space.maintenance,
            space.ingest,
            *tracking,
            space.replayed,
            space.runs,
            space.gaps,
        ]
        reply = cast(list[Any], self._snapshot(keys=keys, args=[receiver_ttl]))
        seen, info, counts, refused, receivers, windows, ingest, *tracked, replayed, runs, gaps = reply
        info_map, count_map, runs_map, gaps_map = (
            dict(zip(h[::2], h[1::2])) for h in (info, counts, runs, gaps)
        )
        seq_map, progress_map, at_map, first_map, failing_map = (dict(zip(h[::2], h[1::2])) for h in tracked)
        kept, decoded = self._decoded, {}
        for name, score in zip(seen[::2], seen[1::2]):
            raw = (
                score,
                count_map.get(name),
                info_map.get(name),
                seq_map.get(name),
                progress_map.get(name),
                at_map.get(name),
                first_map.get(name),
                failing_map.get(name),
                runs_map.get(name),
                gaps_map.get(name),
            )
            entry = kept.get(name)
            if entry is None or entry[0] != raw:  # meta, sequence, progress and when, then the rest
                record = decode(
                    name, float(score), int(raw[1] or 0), raw[2], raw[3], (raw[4], raw[5]), *raw[6:]
                )
                entry = (raw, record)
            decoded[name] = entry
        self._decoded = decoded  # replaced whole: a reader holding the last one keeps it intact
        services = tuple(record for _, record in decoded.values())
        marks = dict(zip(ingest[::2], ingest[1::2]))
        found = (MaintenanceWindow.from_json(raw) for raw in windows[1::2])
        return Snapshot(
            services,
            int(refused),
            int(receivers),
            tuple(sorted((w for w in found if w is not None), key=lambda w: (w.start, w.id))),
            float_or_none(marks.get("blind_since")),
            _spell(float_or_none(marks.get("last_from")), float_or_none(marks.get("last_until"))),
            int(replayed),
        )

    def mark_blind(self, since: float, until: float | None = None) -> None:
        """Record that a blind spell began at ``since`` or, with ``until``, that it ended."""
        if until is None:
            self.client.hset(self.space.ingest, "blind_since", repr(since))
        else:
            self.client.hset(self.space.ingest, mapping={"last_from": repr(since), "last_until": repr(until)})
            self.client.hdel(self.space.ingest, "blind_since")


def _spell(start: float | None, end: float | None) -> tuple[float, float] | None:
    return None if start is None or end is None else (start, end)


def make_store(
    settings: Settings, client: RedisClient | None = None, *, writer: bool = False
) -> HeartbeatStore:
    """The store; ``writer``: the receiver's, whose batched writes share one connection."""
    return HeartbeatStore(
        client or connect(settings.redis_url, cluster=settings.redis_cluster, single=writer),
        prefix=settings.redis_key_prefix,
        max_services=settings.max_services,
        retention_seconds=settings.retention_seconds,
    )
