"""The horizontal story: several receivers and one exporter on a real 3-master Redis Cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisCluster
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import parse_samples


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    c = RedisCluster()
    yield c
    c.close()


def test_receivers_and_an_exporter_share_a_redis_cluster(cluster: RedisCluster) -> None:
    # each receiver is given a different node as its entry point, as behind a load balancer
    receivers = [
        create_receiver(from_mapping({"redis_url": node.url, "redis_cluster": True, "max_services": 50}))
        for node in cluster.nodes
    ]
    names = [f"kafka-{i}" for i in range(30)]
    for i, name in enumerate(names):
        for beat in range(2):  # every service reports through two different receivers
            client = receivers[(i + beat) % len(receivers)].test_client()
            response = client.post(
                "/heartbeat", data=json.dumps({"service": name}), content_type="application/json"
            )
            assert response.status_code == 200, response.get_json()
    assert receivers[0].test_client().get("/readyz").status_code == 200

    settings = from_mapping({"redis_url": cluster.nodes[-1].url, "redis_cluster": True})
    store = make_store(settings)
    snapshot = store.snapshot()
    assert sorted(s.name for s in snapshot.services) == sorted(names)
    assert {s.received for s in snapshot.services} == {2}

    text = create_exporter(settings).test_client().get("/metrics").get_data(as_text=True)
    samples = parse_samples(text)
    assert samples[("heartbeat_store_up", ())] == 1
    assert samples[("heartbeat_services", (("service_type", "kafka"), ("state", "up")))] == 30
    ups = [v for (name, _), v in samples.items() if name == "heartbeat_up"]
    assert len(ups) == 30 and all(v == 1 for v in ups)


def test_the_service_cap_holds_across_receivers(cluster: RedisCluster) -> None:
    settings = [
        from_mapping(
            {"redis_url": n.url, "redis_cluster": True, "max_services": 3, "redis_key_prefix": "capped"}
        )
        for n in cluster.nodes
    ]
    receivers = [create_receiver(s).test_client() for s in settings]
    statuses = [
        receivers[i % 3]
        .post("/heartbeat", data=json.dumps({"service": f"svc-{i}"}), content_type="application/json")
        .status_code
        for i in range(6)
    ]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert make_store(settings[0]).snapshot().refused_total == 3
