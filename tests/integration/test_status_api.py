"""The user's original status API, on real Redis and real PostgreSQL/SQLite."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from exporter.context import Exporter
from exporter.sql.schema import create_schema, table
from exporter.web import status_api
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_core.fields import IN_STATUS
from heartbeat_core.record import Beat
from heartbeat_core.sections import DEFAULT_TABLES
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, parse_samples

USERS = {
    "alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"},
    "bob": {
        "password_hash": generate_password_hash("bob-password", method="pbkdf2:sha256"),
        "role": "viewer",
    },
}
NOW = 1_763_800_000.0


def post(
    client: FlaskClient, path: str, body: Any = None, token: str | None = None, raw: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    return client.post(
        path,
        data=data,
        content_type="application/json",
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )


def login(client: FlaskClient, user: str) -> str:
    response = post(client, "/auth/login", {"username": user, "password": f"{user}-password"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    return str(body["access_token"])


@pytest.fixture
def apps(redis_server: RedisServer, db_url: str, clock: FakeClock) -> tuple[Flask, Flask, str]:
    clock.now = NOW
    settings = from_mapping({"redis_url": redis_server.url, "database_url": db_url, "users": USERS})
    create_schema(sa.create_engine(db_url))
    exporter = create_exporter(settings, clock=clock)
    return create_receiver(settings, clock=clock), exporter, db_url


def insert(url: str, name: str, rows: list[dict[str, Any]]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(table(DEFAULT_TABLES[name])), rows)
    engine.dispose()


def at(seconds_ago: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(NOW - seconds_ago, dt.timezone.utc)


def test_status_for_an_admin_has_services_database_and_windowed_traffic(
    apps: tuple[Flask, Flask, str], clock: FakeClock
) -> None:
    receiver, exporter, url = apps
    for body in ({"service": "数据采集-1"}, {"service_name": "kafka-1"}, {"type": 4}):
        assert post(receiver.test_client(), "/heartbeat/report", body).status_code == 200
    worker = exporter.exporter.worker
    worker.cycle()
    insert(
        url,
        "node_monitor_metrics",
        [{"ip": "10.0.0.7", "created_at": at(60)}] * 3 + [{"ip": "10.0.0.8", "created_at": at(7200)}],
    )  # the last one is outside a 1 h window
    insert(
        url, "access_logs", [{"server_addr": "10.0.1.2", "remote_addr": "10.0.2.9", "created_at": at(10)}] * 2
    )
    insert(url, "database_access_log", [{"client_ip": "10.0.1.2", "created_at": at(5)}])
    clock.advance(30)
    client = exporter.test_client()
    token = login(client, "alice")
    response = post(client, "/heartbeat/status", {"start_time": NOW - 3600, "end_time": NOW + 30}, token)
    assert response.status_code == 200
    body = response.get_json()
    services = body["service_status"]
    assert set(services) == {
        "data_collection",
        "kafka_process",
        "redis",
        "backend",
        "frontend",
        "other",
        "database",
    }
    (collector,) = services["data_collection"]
    assert collector == {
        # every field the status API shows (the field table's), empty when not sent; SPEC's below
        **{field.name: field.shown.empty for field in IN_STATUS},
        "service": "数据采集-1",
        "type": "data_collection",
        "address": "10.0.0.7",
        "last_seen": NOW,
        "age_seconds": 30.0,
        "timeout_seconds": 120.0,
        "is_alive": True,
        "state": "up",
        "status": "ok",  # what it reports of itself (SPEC §12): nothing, so far
        "message": None,
        "metrics": {},
        "info": {},
        "watermark": None,  # the newest record it has processed (SPEC §14): none sent
        "suspicion": None,  # φ (SPEC §17): its type's detection is fixed, nothing is learned
    }
    assert [s["service"] for s in services["other"]] == ["type-4@10.0.0.7"]
    assert services["kafka_process"][0]["service"] == "kafka-1"
    assert services["database"]["is_connected"] is True
    assert services["database"]["error_message"] is None
    assert services["database"]["connection_time"].endswith("Z")
    traffic = body["traffic_status"]
    assert traffic["data_collection_to_kafka"] == [{"ip": "10.0.0.7", "count": 3}]
    assert traffic["kafka_to_database"] == [{"count": 3}]
    assert traffic["database_to_backend"] == [{"client_ip": "10.0.1.2", "count": 1}]
    assert traffic["redis_to_backend"] == []
    assert traffic["backend_to_frontend"] == [{"client_ip": "10.0.2.9", "server_ip": "10.0.1.2", "count": 2}]
    wide = post(
        client, "/heartbeat/status", {"start_time": NOW - 86400, "end_time": NOW + 30}, token
    ).get_json()
    assert wide["traffic_status"]["kafka_to_database"] == [{"count": 4}]


def test_viewers_do_not_see_traffic(apps: tuple[Flask, Flask, str]) -> None:
    _, exporter, _ = apps
    client = exporter.test_client()
    body = post(client, "/heartbeat/status", None, login(client, "bob")).get_json()
    assert "service_status" in body and "traffic_status" not in body


def test_viewers_see_no_sender_address_in_derived_names(apps: tuple[Flask, Flask, str]) -> None:
    """type-4@10.0.0.7 names a host by its IP: a viewer gets a stable pseudonym for it, everywhere."""
    receiver, exporter, _ = apps
    http = exporter.test_client()
    for address in ("10.0.0.7", "10.0.0.8"):
        answer = receiver.test_client().post(
            "/heartbeat", json={"type": 4}, environ_base={"REMOTE_ADDR": address}
        )
        assert answer.status_code == 200
    window = {"history": True}
    admin = post(http, "/heartbeat/status", window, login(http, "alice")).get_json()
    viewer = post(http, "/heartbeat/status", window, login(http, "bob")).get_json()
    admin_names = {s["service"] for s in admin["service_status"]["other"]}
    viewer_names = {s["service"] for s in viewer["service_status"]["other"]}
    assert admin_names == {"type-4@10.0.0.7", "type-4@10.0.0.8"}
    assert len(viewer_names) == 2 and all(re.fullmatch(r"type-4@host-[0-9a-f]{8}", n) for n in viewer_names)
    assert set(viewer["history"]) == viewer_names  # the same pseudonyms in the history
    assert "10.0.0." not in json.dumps(viewer)
    again = post(http, "/heartbeat/status", window, login(http, "bob")).get_json()
    assert {s["service"] for s in again["service_status"]["other"]} == viewer_names  # stable


@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("nobody", "alice-password"), ("bob", "alice-password"), ("alice", "")],
)
def test_a_bad_login_is_401_without_saying_which_part_was_wrong(
    apps: tuple[Flask, Flask, str], user: str, password: str
) -> None:
    response = post(apps[1].test_client(), "/auth/login", {"username": user, "password": password})
    assert response.status_code == 401
    assert response.get_json()["message"] == "wrong username or password"


@pytest.mark.parametrize("raw", ["", "[]", "{bad", '{"username": 1, "password": 2}'])
def test_a_malformed_login_is_400(apps: tuple[Flask, Flask, str], raw: str) -> None:
    response = post(apps[1].test_client(), "/auth/login", raw=raw)
    assert response.status_code == 400 and response.get_json()["error"]


def test_missing_bad_and_expired_tokens_are_401(apps: tuple[Flask, Flask, str], clock: FakeClock) -> None:
    client = apps[1].test_client()
    token = login(client, "alice")
    assert post(client, "/heartbeat/status", {}).status_code == 401
    assert post(client, "/heartbeat/status", {}, token[:-2] + "xx").status_code == 401
    assert post(client, "/heartbeat/status", {}, token).status_code == 200
    clock.advance(3601)
    expired = post(client, "/heartbeat/status", {}, token)
    assert expired.status_code == 401 and expired.get_json()["error"] == "token_expired"


def test_a_token_from_another_key_is_refused(
    apps: tuple[Flask, Flask, str], redis_server: RedisServer
) -> None:
    other = create_exporter(from_mapping({"redis_url": redis_server.url, "users": USERS}))
    foreign = login(other.test_client(), "alice")
    assert post(apps[1].test_client(), "/heartbeat/status", {}, foreign).status_code == 401


@pytest.mark.parametrize(
    "window",
    [
        {"start_time": NOW, "end_time": NOW - 1},
        {"start_time": "yesterday"},
        {"end_time": True},
        {"start_time": -5},
        {"start_time": 0, "end_time": NOW},
        {"start_time": 1e300, "end_time": 1e300},
        {"start_time": 0, "end_time": 10**400},  # an integer no float can hold: was a 500
    ],
)
def test_a_bad_window_is_400(apps: tuple[Flask, Flask, str], window: dict[str, Any]) -> None:
    client = apps[1].test_client()
    response = post(client, "/heartbeat/status", window, login(client, "alice"))
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]


def test_a_store_outage_is_503_not_an_empty_list(own_redis: RedisServer, sqlite_url: str) -> None:
    settings = from_mapping({"redis_url": own_redis.url, "users": USERS})
    client = create_exporter(settings).test_client()
    token = login(client, "alice")
    own_redis.stop()
    response = post(client, "/heartbeat/status", {}, token)
    assert response.status_code == 503 and response.headers["Retry-After"]


def test_missing_log_tables_give_empty_edges(redis_server: RedisServer, sqlite_url: str) -> None:
    settings = from_mapping({"redis_url": redis_server.url, "database_url": sqlite_url, "users": USERS})
    exporter = create_exporter(settings)
    client = exporter.test_client()
    body = post(client, "/heartbeat/status", {}, login(client, "alice")).get_json()
    assert all(rows == [] for rows in body["traffic_status"].values())
    assert "traffic_error" not in body


def test_the_window_count_uses_the_time_index(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    create_schema(engine)
    with engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # on a small table the planner may scan anyway
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                sa.text(
                    "EXPLAIN SELECT ip, count(*) FROM node_monitor_metrics "
                    "WHERE created_at >= now() - interval '1 hour' AND created_at < now() GROUP BY ip"
                )
            )
        )
    assert "ix_node_monitor_metrics_created_at" in plan


def test_status_ignores_the_exporter_without_database(redis_server: RedisServer) -> None:
    settings = from_mapping({"redis_url": redis_server.url, "users": USERS})
    exporter = create_exporter(settings)
    ex: Exporter = exporter.exporter
    assert ex.engine is None
    client = exporter.test_client()
    body = post(client, "/heartbeat/status", {}, login(client, "alice")).get_json()
    assert body["service_status"]["database"]["is_connected"] is False
    assert body["traffic_error"] == "no pipeline database is configured"


def test_the_pipeline_section_says_where_data_flows(apps: tuple[Flask, Flask, str], clock: FakeClock) -> None:
    receiver, exporter, url = apps
    for name in ("collector-1", "kafka-1", "backend-1", "redis-1", "frontend-1"):
        assert post(receiver.test_client(), "/heartbeat", {"service": name}).status_code == 200
    worker = exporter.exporter.worker
    worker.cycle()  # counting starts
    insert(url, "node_monitor_metrics", [{"ip": "10.0.0.7", "created_at": at(1)}] * 30)
    clock.advance(60)
    worker.cycle()
    client = exporter.test_client()
    edges = {
        e["edge"]: e
        for e in post(client, "/heartbeat/status", {}, login(client, "alice")).get_json()["pipeline"]
    }
    assert list(edges) == [
        "data_collection_to_kafka",
        "kafka_to_database",
        "database_to_backend",
        "redis_to_backend",
        "backend_to_frontend",
    ]
    assert edges["data_collection_to_kafka"] == {
        "edge": "data_collection_to_kafka",
        "source": "data_collection",
        "target": "kafka",
        "state": "flowing",
        "records_per_minute": 30.0,
    }
    assert edges["redis_to_backend"]["state"] == "stalled"
    viewer = {
        e["edge"]: e
        for e in post(client, "/heartbeat/status", {}, login(client, "bob")).get_json()["pipeline"]
    }
    assert viewer["data_collection_to_kafka"] == {
        **edges["data_collection_to_kafka"],
        "records_per_minute": None,
    }
    samples = parse_samples(client.get("/metrics").get_data(as_text=True))
    assert (
        samples[("heartbeat_edge_state", (("edge", "data_collection_to_kafka"), ("state", "flowing")))] == 1
    )
    clock.advance(200)  # every service falls silent: the collectors are down, their edge blocked
    edges = {
        e["edge"]: e["state"]
        for e in post(client, "/heartbeat/status", {}, login(client, "alice")).get_json()["pipeline"]
    }
    assert edges["data_collection_to_kafka"] == "blocked_upstream"


def test_history_comes_a_page_at_a_time_and_only_for_services_that_exist(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """A viewer asking for history at the cap got 12 MB an answer, deleted services included."""
    settings = from_mapping({"redis_url": redis_server.url, "users": USERS, "max_services": 7000})
    exporter = create_exporter(settings, clock=clock)
    store = exporter.exporter.reader.store
    store.record_many([Beat(f"svc-{i}", "other", "10.0.0.7", clock.now) for i in range(6000)])
    history = exporter.exporter.reader.history
    assert history is not None
    history.observe([("gone-1", "up")], clock.now - 1)  # a service the store has since forgotten
    http = exporter.test_client()
    token = login(http, "bob")
    window = {"start_time": clock.now - 60, "end_time": clock.now + 60, "history": True}
    first = post(http, "/heartbeat/status", window, token).get_json()  # records 6,000 first states
    assert first["history_next"] == 5000
    assert "gone-1" not in first["history"] and sum(map(len, first["history"].values())) == 4999
    second = post(http, "/heartbeat/status", {**window, "history_offset": 5000}, token).get_json()
    assert "history_next" not in second and sum(map(len, second["history"].values())) == 1001
    names = set(first["history"]) | set(second["history"])
    assert names == {f"svc-{i}" for i in range(6000)}


def test_status_calls_past_their_share_wait_then_get_429(
    apps: tuple[Flask, Flask, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two answers are computed at once; a third waits for a slot, and past the wait gets 429 with
    Retry-After, so that viewers' loops of long windows cannot take the CPU from the scrapes."""
    _, exporter_app, _ = apps
    client = exporter_app.test_client()
    token = login(client, "bob")
    exporter: Exporter = exporter_app.exporter  # type: ignore[attr-defined]
    monkeypatch.setattr(status_api, "STATUS_WAIT", 0.2)
    assert exporter.status_slots.acquire(blocking=False) and exporter.status_slots.acquire(blocking=False)
    try:
        busy = post(client, "/heartbeat/status", {}, token)
        assert busy.status_code == 429 and busy.get_json()["error"] == "too_many_status_calls"
        assert busy.headers["Retry-After"] == "1"
        assert client.get("/metrics").status_code == 200  # scrapes are not counted against it
    finally:
        exporter.status_slots.release()
    assert post(client, "/heartbeat/status", {}, token).status_code == 200
    exporter.status_slots.release()
