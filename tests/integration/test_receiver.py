from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import token_hash
from heartbeat_core.store import HeartbeatStore
from heartbeat_receiver.app import create_app
from tests.support import FakeClock

SENDER = {"REMOTE_ADDR": "10.0.0.7"}


def make_client(server: RedisServer, clock: FakeClock, **config: Any) -> tuple[FlaskClient, HeartbeatStore]:
    """The app with the store it makes itself, as the receiver runs in production."""
    app = create_app(from_mapping({"redis_url": server.url, **config}), clock=clock)
    store: HeartbeatStore = app.store
    return app.test_client(), store


@pytest.fixture
def client(redis_server: RedisServer, clock: FakeClock) -> tuple[FlaskClient, HeartbeatStore]:
    return make_client(redis_server, clock)


def post(client: FlaskClient, body: Any, path: str = "/heartbeat", **kwargs: Any) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", environ_base=SENDER, **kwargs)


def test_the_seed_agent_heartbeat_is_accepted(
    client: tuple[FlaskClient, HeartbeatStore], clock: FakeClock
) -> None:
    http, store = client
    # exactly the user's curl example: --data '{"type": 4}'
    response = post(http, '{"type": 4}')
    assert response.status_code == 200
    assert response.get_json() == {"service": "type-4@10.0.0.7", "type": "other", "received_at": clock.now}
    (record,) = store.snapshot().services
    assert (record.name, record.service_type, record.address, record.last_seen, record.received) == (
        "type-4@10.0.0.7",
        "other",
        "10.0.0.7",
        clock.now,
        1,
    )


def test_a_named_report_on_the_original_route(
    client: tuple[FlaskClient, HeartbeatStore], clock: FakeClock
) -> None:
    http, store = client
    response = post(http, {"service_name": "数据采集-1", "timestamp": 1763799990.5}, "/heartbeat/report")
    assert response.status_code == 200
    assert response.get_json()["type"] == "data_collection"
    clock.advance(30)
    assert post(http, {"service": "数据采集-1"}).status_code == 200
    (record,) = store.snapshot().services
    assert record.received == 2 and record.last_seen == clock.now
    assert record.sent_at is None  # the second beat carried no timestamp


def test_receiver_time_is_used_never_the_senders(
    client: tuple[FlaskClient, HeartbeatStore], clock: FakeClock
) -> None:
    http, store = client
    post(http, {"service": "backend-1", "timestamp": 42.0})
    (record,) = store.snapshot().services
    assert record.last_seen == clock.now and record.sent_at == 42.0


def test_explicit_numeric_type_maps_through_type_codes(redis_server: RedisServer, clock: FakeClock) -> None:
    http, _ = make_client(redis_server, clock, type_codes={4: "backend"})
    assert post(http, {"type": 4}).get_json()["type"] == "backend"


BAD_BODIES = [
    ("{not json", 400),
    ("", 400),
    ("[1, 2]", 400),
    ('"kafka-1"', 400),
    ("42", 400),
    ("null", 400),
    ('{"service": 12}', 400),
    ('{"service": ""}', 400),
    ('{"service": "   "}', 400),
    ('{"service": "' + "x" * 201 + '"}', 400),
    ('{"service": "bad\\u0000name"}', 400),
    ('{"service": "bad\\nname"}', 400),
    ('{"service": "ok", "type": [4]}', 400),
    ('{"service": "ok", "type": true}', 400),
    ('{"service": "ok", "timestamp": "yesterday"}', 400),
    ('{"service": "ok", "timestamp": NaN}', 400),
    ('{"service": "ok", "interval": {}}', 400),
    ('{"hello": "world"}', 400),
    (b"\xff\xfe\x00garbage", 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
def test_bad_input_gets_a_json_4xx_and_changes_nothing(
    client: tuple[FlaskClient, HeartbeatStore], body: str | bytes, status: int
) -> None:
    http, store = client
    assert post(http, {"service": "kafka-1"}).status_code == 200
    before = store.snapshot()
    response = post(http, body)
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]
    assert store.snapshot() == before


def test_huge_bodies_are_refused_with_413(client: tuple[FlaskClient, HeartbeatStore]) -> None:
    http, store = client
    response = post(http, json.dumps({"service": "kafka-1", "pad": "x" * 100_000}))
    assert response.status_code == 413 and response.get_json()["error"]
    assert store.snapshot().services == ()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/heartbeat", 405),
        ("PUT", "/heartbeat/report", 405),
        ("POST", "/nope", 404),
        ("GET", "/", 404),
    ],
)
def test_wrong_methods_and_routes_get_json_errors(
    client: tuple[FlaskClient, HeartbeatStore], method: str, path: str, status: int
) -> None:
    response = client[0].open(path, method=method)
    assert response.status_code == status and response.get_json()["error"]


def test_new_names_past_the_cap_are_refused_and_counted(redis_server: RedisServer, clock: FakeClock) -> None:
    http, store = make_client(redis_server, clock, max_services=3)
    for i in range(3):
        assert post(http, {"service": f"svc-{i}"}).status_code == 200
    refused = post(http, {"service": "svc-new"})
    assert refused.status_code == 429
    assert "limit" in refused.get_json()["message"]
    assert post(http, {"service": "svc-1"}).status_code == 200  # known names still get through
    snapshot = store.snapshot()
    assert sorted(s.name for s in snapshot.services) == ["svc-0", "svc-1", "svc-2"]
    assert snapshot.refused_total == 1


def test_services_unseen_past_retention_are_forgotten(redis_server: RedisServer, clock: FakeClock) -> None:
    http, store = make_client(redis_server, clock, retention_seconds=3600, max_services=2)
    post(http, {"service": "old-1"})
    post(http, {"service": "old-2"})
    clock.advance(3599)
    post(http, {"service": "old-2"})
    clock.advance(2)  # old-1 is now 3601 s old, old-2 1 s
    # the cap is full, but the expired service makes room for the new one
    assert post(http, {"service": "new-1"}).status_code == 200
    assert sorted(s.name for s in store.snapshot().services) == ["new-1", "old-2"]


def test_ingest_tokens_when_configured(redis_server: RedisServer, clock: FakeClock) -> None:
    token = "s3cret-token-0123456789"
    http, store = make_client(redis_server, clock, ingest_tokens=[token])
    assert post(http, {"service": "a"}).status_code == 401
    wrong = post(http, {"service": "a"}, headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert store.snapshot().services == ()
    ok = post(http, {"service": "a"}, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert http.get("/healthz").status_code == 200  # probes need no token


def test_a_scoped_token_binds_types_as_well_as_names(redis_server: RedisServer, clock: FakeClock) -> None:
    """The reproduction: a backend- token counted its own service as kafka, hiding a dead fleet."""
    backend, typed = "backend-token-0123456789", "typed-token-01234567890"
    tokens = [
        {"token_hash": token_hash(backend), "prefixes": ["backend-"]},
        {"token_hash": token_hash(typed), "prefixes": ["relay-"], "types": ["kafka", "redis"]},
    ]
    http, store = make_client(redis_server, clock, ingest_tokens=tokens)

    def send(token: str, body: dict[str, Any]) -> Any:
        return post(http, body, headers={"Authorization": f"Bearer {token}"})

    refused = send(backend, {"service": "backend-fake", "type": "kafka"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden_type"
    assert send(backend, {"service": "backend-1", "type": "backend"}).status_code == 200
    assert send(backend, {"service": "backend-2"}).status_code == 200  # the type its name implies
    assert send(typed, {"service": "relay-1", "type": "kafka"}).status_code == 200
    assert send(typed, {"service": "relay-2", "type": "backend"}).status_code == 403
    assert {(r.name, r.service_type) for r in store.snapshot().services} == {
        ("backend-1", "backend"), ("backend-2", "backend"), ("relay-1", "kafka"),
    }  # fmt: skip


def test_a_derived_name_cannot_be_sent_as_a_name(client: tuple[FlaskClient, HeartbeatStore]) -> None:
    """Else a sender could keep a dead host's derived name (type-4@10.0.0.7) alive."""
    http, store = client
    answer = post(http, {"service": "type-4@10.0.0.8"})
    assert answer.status_code == 400 and "'service'" in answer.get_json()["message"]
    assert post(http, {"type": 4}).status_code == 200
    assert [r.name for r in store.snapshot().services] == ["type-4@10.0.0.7"]


def test_redis_outage_is_a_503_and_the_receiver_recovers_by_itself(
    own_redis: RedisServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="heartbeat_receiver.ingest")
    http, store = make_client(own_redis, clock)
    assert post(http, {"service": "kafka-1"}).status_code == 200
    assert http.get("/readyz").status_code == 200
    own_redis.stop()
    down = post(http, {"service": "kafka-1"})
    assert down.status_code == 503
    assert down.headers["Retry-After"].isdigit()
    assert down.get_json()["error"] == "store_unavailable"
    assert http.get("/readyz").status_code == 503
    assert http.get("/healthz").status_code == 200
    assert post(http, {"service": "kafka-2"}).status_code == 503
    own_redis.start()  # same port, empty data: the same app must carry on, from the first heartbeat
    assert post(http, {"service": "kafka-1"}).status_code == 200
    assert http.get("/readyz").status_code == 200
    assert [s.name for s in store.snapshot().services] == ["kafka-1"]
    logged = [
        (r.levelname, r.getMessage().split(":")[0]) for r in caplog.records if r.name.endswith("ingest")
    ]
    assert logged == [("WARNING", "heartbeat store unavailable"), ("INFO", "heartbeat store available again")]


def test_a_redis_restart_between_heartbeats_costs_no_heartbeat(
    own_redis: RedisServer, clock: FakeClock
) -> None:
    http, _ = make_client(own_redis, clock)
    assert post(http, {"service": "kafka-1"}).status_code == 200
    own_redis.stop()
    own_redis.start()  # nothing was sent meanwhile: the receiver still holds the connection Redis closed
    assert post(http, {"service": "kafka-1"}).status_code == 200
    assert post(http, {"service": "kafka-1"}).get_json()["service"] == "kafka-1"
    own_redis.stop()
    own_redis.start()  # and again, with only the readiness probe asking next
    assert http.get("/readyz").status_code == 200


def test_keys_share_one_hash_tag_for_redis_cluster(client: tuple[FlaskClient, HeartbeatStore]) -> None:
    http, store = client
    post(http, {"service": "kafka-1"})
    names = sorted(store.client.keys("*"))
    assert names and all(name.startswith("{heartbeat}:") for name in names)
