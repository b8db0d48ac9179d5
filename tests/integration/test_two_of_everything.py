"""Two receivers and two exporters on one Redis behave as one (SPEC §15, issue #24): real
processes on loopback under a steady fleet and a steady writer of log rows, each copy of each
stopped and started again in turn.

Checked at the end: every beat a receiver accepted is counted; a window's traffic from either
exporter equals ``count(*)`` over the rows (none counted twice, none missed, whichever exporter
held the rollup's lease); both exporters give every service the same state; the lease passed to
the other exporter within a few polls when its holder stopped (it gives the lease back); a
maintenance window made at one exporter is seen at the other, and a logout at one is honoured by
the other.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from typing import Any

import redis
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from exporter.sql.schema import create_schema
from harness.redis import RedisServer
from harness.served import served
from harness.servers import wait_until
from tests.support import parse_samples

SERVICES = [f"kafka-{i}" for i in range(6)] + [f"backend-{i}" for i in range(6)]
LEASE_TTL = 30.0  # max(30 s, 4 polls): exporter/state/rollup.py
HANDOVER = 10.0  # a stopped holder gives the lease back: the other takes it at its next 0.5 s poll


def call(url: str, body: Any = None, token: str | None = None, method: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text.startswith(("{", "[")) else text
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Copies:
    """Named processes that can be stopped and started again, each on a port of its own."""

    def __init__(self, module: str, env: dict[str, str], *args: str) -> None:
        self.module, self.env, self.args = module, env, args
        self.running: dict[str, tuple[ExitStack, int]] = {}

    def start(self, name: str) -> None:
        stack = ExitStack()
        port = stack.enter_context(served(self.module, *self.args, env=self.env))
        self.running[name] = (stack, port)

    def stop(self, name: str) -> None:
        stack, _ = self.running.pop(name)
        stack.close()

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for _, port in list(self.running.values())]

    def close(self) -> None:
        for name in list(self.running):
            self.stop(name)


def test_two_receivers_and_two_exporters_behave_as_one(redis_server: RedisServer, pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    create_schema(engine)
    env = {
        "HEARTBEAT_REDIS_URL": redis_server.url,
        "HEARTBEAT_POLL_INTERVAL": "0.5",
        "HEARTBEAT_SNAPSHOT_CACHE_SECONDS": "0",
        "HEARTBEAT_SECRET_KEY": "one-secret-for-every-exporter-0123456789",
        "HEARTBEAT_USERS__ALICE__PASSWORD_HASH": generate_password_hash("alice-password"),
        "HEARTBEAT_USERS__ALICE__ROLE": "admin",
        "HEARTBEAT_WORKERS": "1",
    }
    receivers = Copies("heartbeat_receiver", env, "--workers", "1")
    exporters = Copies("exporter", env, "--database-url", pg_url)
    accepted: Counter[str] = Counter()
    rows_written = 0
    stop = threading.Event()
    table = sa.table("node_monitor_metrics", sa.column("ip"), sa.column("created_at"))

    def fleet() -> None:  # each service beats every 0.5 s, to whichever receiver answers
        turn = 0
        while not stop.wait(0.5):
            for service in SERVICES:
                for url in receivers.urls()[turn % 2 :] + receivers.urls()[: turn % 2]:
                    status, _ = call(f"{url}/heartbeat", {"service": service, "interval": 0.5})
                    if status == 200:
                        accepted[service] += 1
                        break
                turn += 1

    def writer() -> None:
        nonlocal rows_written
        while not stop.wait(0.1):
            with engine.begin() as conn:
                conn.execute(
                    table.insert().values(ip="10.0.0.7", created_at=dt.datetime.now(dt.timezone.utc))
                )
            rows_written += 1

    lease = redis.Redis.from_url(redis_server.url, decode_responses=True)
    threads = [threading.Thread(target=fleet, daemon=True), threading.Thread(target=writer, daemon=True)]
    try:
        for name in ("a", "b"):
            receivers.start(name)
            exporters.start(name)
        began = time.time()
        for thread in threads:
            thread.start()
        wait_until(lambda: lease.get("{heartbeat}:rollup:lease") is not None, timeout=10)
        key = "{heartbeat}:rollup:lease"
        for copies, name in ((receivers, "a"), (receivers, "b"), (exporters, "a"), (exporters, "b")):
            holder = lease.get(key)
            copies.stop(name)
            stopped = time.time()
            if copies is exporters:
                # a live exporter holds the lease again within a few polls, long before its time
                # to live: the same one, refreshed since (it was the other's), or the other one,
                # the stopped holder having given it back as it stopped
                def held(holder: str | None = holder, stopped: float = stopped) -> bool:
                    value, left = lease.get(key), lease.pttl(key)
                    return value is not None and (
                        value != holder or (time.time() - stopped > 2 and left > 25_000)
                    )

                wait_until(held, timeout=LEASE_TTL + 5, interval=0.2)
                assert time.time() - stopped <= HANDOVER
            time.sleep(2)
            copies.start(name)
            time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(10)
        ended = time.time()
        time.sleep(3)  # the last polls and beats land

        first, second = exporters.urls()
        scrapes = []
        for url in (first, second):
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
                scrapes.append(parse_samples(response.read().decode()))
        for service in SERVICES:  # every accepted beat counted, the same at either exporter
            labels = (("service_name", service), ("service_type", service.split("-")[0]))
            assert [s[("heartbeat_received_total", labels)] for s in scrapes] == [accepted[service]] * 2, (
                service
            )
        states = [{k: v for k, v in s.items() if k[0] == "heartbeat_state" and v == 1} for s in scrapes]
        assert states[0] == states[1] and len(states[0]) == len(SERVICES)

        _, login = call(f"{first}/auth/login", {"username": "alice", "password": "alice-password"})
        token = login["access_token"]
        window = {"start_time": began - 1, "end_time": ended + 1}
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM node_monitor_metrics")).scalar_one()
        assert rows == rows_written
        for url in (first, second):  # a login at one exporter works at the other
            status, answer = call(f"{url}/heartbeat/status", window, token)
            assert status == 200
            counted = sum(row["count"] for row in answer["traffic_status"]["kafka_to_database"])
            assert counted == rows, url

        now = time.time()
        status, _ = call(
            f"{first}/maintenance",
            {"service_prefix": "kafka-", "start": now, "end": now + 600, "reason": "x"},
            token,
        )
        assert status in (200, 201)
        status, windows = call(f"{second}/maintenance", token=token)
        assert status == 200 and [w["reason"] for w in windows["windows"]] == ["x"]
        assert call(f"{first}/auth/logout", {}, token)[0] == 200
        assert call(f"{second}/heartbeat/status", window, token)[0] == 401  # logged out everywhere
    finally:
        stop.set()
        receivers.close()
        exporters.close()
