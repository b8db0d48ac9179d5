"""The Redis store: the only place that knows how heartbeats are laid out in Redis.

The receiver writes through :meth:`HeartbeatStore.record`; the exporter reads through
:meth:`HeartbeatStore.snapshot`. All keys share one hash tag (``{prefix}``) so that they live
in one slot of a Redis Cluster and both scripts run there unchanged.

Layout (``P`` is the prefix):

* ``{P}:seen``    sorted set, service -> receiver time of its last heartbeat
* ``{P}:info``    hash, service -> ``service_type<TAB>address<TAB>sent_at`` (tabs cannot occur in any of them)
* ``{P}:count``   hash, service -> heartbeats received
* ``{P}:refused`` integer, heartbeats refused because the service cap was reached
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from heartbeat_core.config import Settings
from heartbeat_core.groupcommit import GroupCommit

# One round trip per batch of heartbeats, atomic: prune a few expired services, then for each
# heartbeat enforce the cap on new names and record it (-1 where refused). ZADD GT keeps
# last-seen from moving backwards when replicas' clocks differ.
RECORD_SCRIPT = """
local seen, info, count, refused = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cap, cutoff, batch = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local old = redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. cutoff, 'LIMIT', 0, batch)
for _, gone in ipairs(old) do
  redis.call('ZREM', seen, gone)
  redis.call('HDEL', info, gone)
  redis.call('HDEL', count, gone)
end
local results = {}
for i = 4, #ARGV, 3 do
  local name, now, meta = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if not redis.call('ZSCORE', seen, name) and redis.call('ZCARD', seen) >= cap then
    redis.call('INCR', refused)
    results[#results + 1] = -1
  else
    redis.call('ZADD', seen, 'GT', now, name)
    redis.call('HSET', info, name, meta)
    results[#results + 1] = redis.call('HINCRBY', count, name, 1)
  end
end
return results
"""

# One consistent snapshot for the exporter: a script runs atomically.
SNAPSHOT_SCRIPT = """
return {
  redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('GET', KEYS[4]) or '0',
}
"""

PRUNE_BATCH = 20

RedisClient = Any  # redis.Redis or redis.cluster.RedisCluster: both speak the commands we use


class ServiceRecord(NamedTuple):
    """One service as stored (a tuple: the exporter makes one per service per scrape)."""

    name: str
    service_type: str
    address: str
    last_seen: float
    received: int
    sent_at: float | None


@dataclass(frozen=True)
class Snapshot:
    services: tuple[ServiceRecord, ...]
    refused_total: int


class Beat(NamedTuple):
    """One heartbeat as the record script takes it."""

    name: str
    now: float
    meta: str  # service_type<TAB>address<TAB>sent_at


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
    return redis.Redis.from_url(
        url, retry=Retry(NoBackoff(), 0), health_check_interval=15, single_connection_client=single, **options
    )


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
        tag = "{" + prefix + "}"
        self.keys = [f"{tag}:seen", f"{tag}:info", f"{tag}:count", f"{tag}:refused"]
        self.max_services = max_services
        self.retention_seconds = retention_seconds
        self._record = client.register_script(RECORD_SCRIPT)
        self._snapshot = client.register_script(SNAPSHOT_SCRIPT)
        self._commits: GroupCommit[Beat, int] = GroupCommit(self.record_many)

    def ping(self) -> bool:
        self._drop_closed_connection()
        return bool(self.client.ping())

    def record(
        self, name: str, service_type: str, address: str, now: float, sent_at: float | None = None
    ) -> int:
        """Store one heartbeat; return how many this service has sent.

        Heartbeats recorded by several threads at once share one Redis call (group commit).
        Raises :class:`CapacityExceeded` for a new name past the cap, and redis errors as they are.
        """
        meta = f"{service_type}\t{address}\t{'' if sent_at is None else repr(sent_at)}"
        result = self._commits.submit(Beat(name, now, meta))
        if result < 0:
            raise CapacityExceeded(name)
        return result

    def record_many(self, beats: Sequence[Beat]) -> list[int]:
        """Store heartbeats in one atomic call; per heartbeat its count, or -1 where the cap refused it."""
        if not beats:
            return []
        self._drop_closed_connection()
        cutoff = min(beat.now for beat in beats) - self.retention_seconds
        args: list[str | int] = [self.max_services, repr(cutoff), PRUNE_BATCH]
        for beat in beats:
            args += (beat.name, repr(beat.now), beat.meta)
        return [int(n) for n in self._record(keys=self.keys, args=args)]

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

    def snapshot(self) -> Snapshot:
        """Every service in one atomic read (one script call, not one command per service)."""
        self._drop_closed_connection()
        seen, info, counts, refused = cast(list[Any], self._snapshot(keys=self.keys))
        info_map = dict(zip(info[::2], info[1::2]))
        count_map = dict(zip(counts[::2], counts[1::2]))
        services = []
        for name, score in zip(seen[::2], seen[1::2]):
            service_type, address, sent_at = _meta(info_map.get(name))
            services.append(
                ServiceRecord(name, service_type, address, float(score), int(count_map.get(name, 0)), sent_at)
            )
        return Snapshot(tuple(services), int(refused))


def _meta(raw: str | None) -> tuple[str, str, float | None]:
    parts = (raw or "").split("\t")
    if len(parts) != 3:
        return "other", "", None
    service_type, address, sent_at = parts
    try:
        return service_type or "other", address, float(sent_at) if sent_at else None
    except ValueError:
        return service_type or "other", address, None


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
