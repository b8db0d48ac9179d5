"""Group commit on a real Redis: each heartbeat of a batch gets its own count; the cap applies to each."""

from __future__ import annotations

import threading

import pytest

from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_core.record import Beat
from heartbeat_core.store import CapacityExceeded, make_store


def test_many_threads_recording_at_once_get_their_own_counts(redis_server: RedisServer) -> None:
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    counts: dict[str, list[int]] = {}

    def sender(name: str) -> None:
        beats = [Beat(name, "other", "10.0.0.1", 1_763_800_000.0 + i) for i in range(150)]
        counts[name] = [store.commit(beat) for beat in beats]

    threads = [threading.Thread(target=sender, args=(f"svc-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # every sender saw its own service's count go 1, 2, ... 150: no answer went to the wrong request
    assert counts == {f"svc-{n}": list(range(1, 151)) for n in range(8)}
    services = {s.name: s for s in store.snapshot().services}
    assert {name: s.received for name, s in services.items()} == {f"svc-{n}": 150 for n in range(8)}
    assert all(s.last_seen == 1_763_800_000.0 + 149 for s in services.values())


def test_the_cap_is_applied_to_each_heartbeat_of_one_batch(redis_server: RedisServer) -> None:
    store = make_store(from_mapping({"redis_url": redis_server.url, "max_services": 2}))
    beats = [Beat(name, "other", "10.0.0.1", 1_763_800_000.0) for name in ("a", "b", "c", "a")]
    assert store.record_many(beats) == [1, 1, -1, 2]  # c is new past the cap; a is known
    assert store.snapshot().refused_total == 1
    with pytest.raises(CapacityExceeded):
        store.commit(Beat("d", "other", "10.0.0.1", 1_763_800_001.0))
    assert sorted(s.name for s in store.snapshot().services) == ["a", "b"]
