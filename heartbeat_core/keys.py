"""Redis' keys, declared once: the hash tag, every key, and the scripts that run on them.

Every key shares one hash tag (``{P}``, ``P`` the configured prefix), so that all of them live
in one slot of a Redis Cluster and every script runs there unchanged.

* ``{P}:seen``        sorted set, service -> receiver time of its last heartbeat
* ``{P}:info``        hash, service -> its last heartbeat's declared fields (``heartbeat_core.record``)
* ``{P}:count``       hash, service -> heartbeats received
* ``{P}:refused``     integer, heartbeats refused because the service cap was reached
* ``{P}:seqs``        hash, service -> the record script's tracking of ``seq`` and ``instance``
* ``{P}:progress``    hash, service -> its progress counters; ``{P}:progress_at`` when they changed
* ``{P}:first``       hash, service -> receiver time of its first heartbeat (it has proved itself since)
* ``{P}:failing``     hash, service -> how many heartbeats in a row said ``"status": "failing"``
* ``{P}:replayed``    integer, replayed heartbeats (batch) older than their service's last one
* ``{P}:runs``        hash, service -> a job's runs as JSON (``heartbeat_core.job``): open ones, counts
                      by outcome, the last duration and success, the last few as bars
* ``{P}:gaps``        hash, service -> its learned gaps between beats (SPEC §17), as sums:
                      ``n\tsum\tsum of squares\tdeclared interval\t1 after a goodbye``
* ``{P}:gaplog``      hash, service -> those gaps themselves, comma-joined, oldest first
* ``{P}:receivers``   sorted set, receiver process -> Redis time of its last announcement
* ``{P}:maintenance`` hash, window id -> the maintenance window as JSON
* ``{P}:ingest``      hash, the exporters' record of blind spells: ``blind_since`` while one is on,
                      ``last_from`` and ``last_until`` of the last one that ended
* ``{P}:sessions``    sorted set, status API token id -> when it expires; logged out: removed
* ``{P}:signatures``  sorted set, a signed heartbeat's signature -> when it goes stale (``replays``)
* ``{P}:state``       hash, service -> its last recorded state and when it began (``state\\ttime``)
* ``{P}:history``     sorted set of ``service\\ttime\\tfrom\\tto``, scored by the time of the change
* ``{P}:avail:…``    the availability ledger (SPEC §16), described in ``heartbeat_core.availability_script``
* ``{P}:rollup:lease``              the rollup writer's id, with a time to live of a few polls
* ``{P}:rollup:{table}:cover``      hash: ``since`` and ``until``, the minutes the rollup holds whole
* ``{P}:rollup:{table}:ids``        hash: key (IP values, tab-joined) -> a short id
* ``{P}:rollup:{table}:m:{minute}`` string ``id:count,id:count,…``; minutes since the epoch
* ``{P}:rollup:{table}:h:{hour}``   the same per hour

The scripts are in ``heartbeat_core.scripts``.
"""

from __future__ import annotations

from typing import Any

RedisClient = Any  # redis.Redis or redis.cluster.RedisCluster: both speak the commands we use


class KeySpace:
    """One prefix's keys on one client; the store, the rollup and the history all go through it."""

    def __init__(self, client: RedisClient, prefix: str = "heartbeat") -> None:
        self.client = client
        self.tag = "{" + prefix + "}"
        (
            self.seen,
            self.info,
            self.count,
            self.refused,
            self.seqs,
            self.progress,
            self.progress_at,
            self.first,
            self.failing,
            self.replayed,
            self.runs,
        ) = self.records = [self.key(name) for name in RECORDS]
        self.receivers, self.maintenance, self.ingest, self.sessions = (
            self.key(name) for name in ("receivers", "maintenance", "ingest", "sessions")
        )
        self.state, self.history = self.key("state"), self.key("history")
        self.gaps, self.gaplog = self.key("gaps"), self.key("gaplog")
        self.rollup_lease = self.key("rollup:lease")
        # the availability ledger: open segments, incidents, their starts, open ones, the last id
        self.ledger = [self.key(f"avail:{name}") for name in ("now", "incidents", "starts", "open", "next")]
        self.ledger_day = self.key("avail:day:")  # + the day's number since the epoch

    def key(self, name: str) -> str:
        return f"{self.tag}:{name}"

    def rollup(self, table: str, suffix: str) -> str:
        return self.key(f"rollup:{table}:{suffix}")

    def script(self, source: str) -> Any:
        """A script registered on the client, run by its SHA (loaded again after a restart)."""
        return self.client.register_script(source)


# the keys the record script writes, in the order it takes them
RECORDS = (
    "seen",
    "info",
    "count",
    "refused",
    "seqs",
    "progress",
    "progress_at",
    "first",
    "failing",
    "replayed",
    "runs",
)
