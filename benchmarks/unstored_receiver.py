"""The receiver as served, its heartbeats checked and answered but not written to Redis: what
the checks and the adapter cost apart from storage (bench_receiver's target, bench_batch_parts'
split). It reaches the receiver through its public factories only, with a stand-in store.

    granian --interface rsgi --factory benchmarks.unstored_receiver:app
"""

from __future__ import annotations

from collections.abc import Sequence

from heartbeat_core.config import Settings, load_settings
from heartbeat_core.record import Beat
from heartbeat_core.store import HeartbeatStore, connect
from heartbeat_receiver import rsgi


class UnstoredStore(HeartbeatStore):
    """Every beat is taken as its service's first, and nothing is written."""

    def record_many(self, beats: Sequence[Beat]) -> list[int]:
        return [1] * len(beats)


def unstored_store(settings: Settings) -> UnstoredStore:
    """Presence still announces through Redis: the exporter must not think ingest blind."""
    client = connect(settings.redis_url, cluster=settings.redis_cluster, single=True)
    return UnstoredStore(client, prefix=settings.redis_key_prefix, max_services=settings.max_services)


def app() -> rsgi.Receiver:
    return rsgi.app(store=unstored_store(load_settings()))
