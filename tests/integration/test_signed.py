"""Signed heartbeats (SPEC §18): the token never travels, a signature is good once, for every
receiver of the store, and the agent, its CLI and the cron wrapper sign."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from harness.redis import RedisServer
from harness.served import served
from harness.servers import wait_until
from heartbeat_agent import HeartbeatSender
from heartbeat_core.config import from_mapping
from heartbeat_core.keys import KeySpace
from heartbeat_core.replays import ReplayMemory
from heartbeat_receiver.app import create_app
from tests.support import LiveServer

KEY = "signing-key-of-the-backup-job"
OTHER = "another-key-nobody-configured"
TOKENS = [{"token": KEY, "signed": True, "prefixes": ["backup-"]}]


def signature(key: str, body: bytes, t: float | None = None) -> str:
    t = int(time.time() if t is None else t)
    return f"t={t},v1=" + hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture
def receivers(redis_server: RedisServer) -> Iterator[list[LiveServer]]:
    """Two receivers on one Redis, as behind a load balancer."""
    settings = from_mapping({"redis_url": redis_server.url, "ingest_tokens": TOKENS})
    servers = [LiveServer(create_app(settings)) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def beats(redis_server: RedisServer, name: str) -> int:
    return int(redis.Redis.from_url(redis_server.url).hget("{heartbeat}:count", name) or 0)


def test_good_wrong_stale_moved_and_replayed_signatures(
    receivers: list[LiveServer], redis_server: RedisServer
) -> None:
    first, second = (server.url("/heartbeat") for server in receivers)
    body = b'{"service": "backup-db", "status": "ok"}'
    signed = {"X-Heartbeat-Signature": signature(KEY, body)}
    assert post(first, body, signed)[0] == 200
    status, answer = post(second, body, signed)  # the same request again, to the other receiver
    assert (status, answer["error"]) == (409, "replayed")
    cases = {
        "missing": {},
        "wrong key": {"X-Heartbeat-Signature": signature(OTHER, body)},
        "stale": {"X-Heartbeat-Signature": signature(KEY, body, time.time() - 301)},
        "future": {"X-Heartbeat-Signature": signature(KEY, body, time.time() + 301)},
        "malformed": {"X-Heartbeat-Signature": "t=now,v1=zz"},
    }
    for case, headers in cases.items():
        status, answer = post(first, body, headers)
        assert status == 401, (case, answer)
        assert answer["error"] in ("unauthorized", "invalid_signature", "stale_signature"), (case, answer)
    # a good signature over another body: what an attacker who saw one request would try
    forged = b'{"service": "backup-db", "status": "ok", "message": "all is well"}'
    assert post(first, forged, signed)[0] == 401
    # the token itself, sent as a bearer token, is refused: a leaked copy sends nothing
    status, answer = post(first, body, {"Authorization": f"Bearer {KEY}"})
    assert (status, answer["error"]) == (403, "signature_required")
    assert beats(redis_server, "backup-db") == 1  # only the first request was stored


def test_a_signed_token_cannot_ping_a_healthchecks_url(receivers: list[LiveServer]) -> None:
    request = urllib.request.Request(receivers[0].url(f"/ping/{KEY}/backup-db"), method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert json.load(refused.value)["error"] == "signature_required"


def test_a_signed_batch_is_taken_once(receivers: list[LiveServer], redis_server: RedisServer) -> None:
    now = time.time()
    body = json.dumps([{"service": "backup-db", "timestamp": now - 60}, {"service": "backup-db"}]).encode()
    headers = {"X-Heartbeat-Signature": signature(KEY, body)}
    status, answer = post(receivers[0].url("/heartbeat/batch"), body, headers)
    assert status == 200 and answer["accepted"] == 2
    status, answer = post(receivers[1].url("/heartbeat/batch"), body, headers)
    assert (status, answer["error"]) == (409, "replayed")
    assert beats(redis_server, "backup-db") == 2


def test_the_served_receiver_checks_signatures_on_its_event_loop_path(redis_server: RedisServer) -> None:
    env = {"HEARTBEAT_REDIS_URL": redis_server.url, "HEARTBEAT_INGEST_TOKENS": json.dumps(TOKENS)}
    with served("heartbeat_receiver", "--workers", "1", env=env) as port:
        url = f"http://127.0.0.1:{port}/heartbeat"
        body = b'{"service": "backup-served"}'
        headers = {"X-Heartbeat-Signature": signature(KEY, body)}
        assert post(url, body, headers)[0] == 200
        assert post(url, body, headers)[0] == 409
        assert post(url, body, {"X-Heartbeat-Signature": signature(OTHER, body)})[0] == 401
        batch = b'[{"service": "backup-served"}]'
        assert post(f"{url}/batch", batch, {"X-Heartbeat-Signature": signature(KEY, batch)})[0] == 200
    assert beats(redis_server, "backup-served") == 2


def test_the_agent_its_cli_and_the_cron_wrapper_sign(
    receivers: list[LiveServer], redis_server: RedisServer
) -> None:
    url = receivers[0].url("/heartbeat")
    sender = HeartbeatSender(url, interval=0.2, payload={"service": "backup-lib"}, token=KEY, signed=True)
    assert sender.send_once() and sender.send_once()
    assert "Authorization" not in sender.headers
    cli = [sys.executable, "-m", "heartbeat_agent", "--url", url, "--token", KEY, "--signed"]
    once = subprocess.run([*cli, "--service", "backup-cli", "--once"], capture_output=True, timeout=30)
    assert once.returncode == 0, once.stderr
    wrapped = subprocess.run(
        [sys.executable, "-m", "heartbeat_agent", "run", "--service", "backup-cron", "--url", url,
         "--token", KEY, "--signed", "--", "true"],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    assert wrapped.returncode == 0, wrapped.stderr
    wait_until(lambda: beats(redis_server, "backup-cron") == 2, timeout=5)  # its start and its finish
    assert beats(redis_server, "backup-lib") == 2 and beats(redis_server, "backup-cli") == 1
    # without --signed the same token is refused: it would travel
    unsigned = subprocess.run(
        [*cli[:-1], "--service", "backup-cli", "--once"], capture_output=True, timeout=30
    )
    assert unsigned.returncode == 1


def test_the_replay_memory_is_bounded_and_forgets_what_went_stale(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    memory = ReplayMemory(KeySpace(client), most=5)
    now = 1_800_000_000.0
    for i in range(10):
        assert memory.claim(f"{i:064x}", now + 300, now)
    assert client.zcard("{heartbeat}:signatures") == 5  # the soonest to go stale dropped first
    assert not memory.claim(f"{9:064x}", now + 300, now)  # a replay of a kept one
    assert memory.claim(f"{10:064x}", now + 700, now + 400)  # the rest went stale meanwhile
    assert client.zcard("{heartbeat}:signatures") == 1
