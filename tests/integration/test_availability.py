"""Availability, incidents and the ledger (SPEC §16) from one scripted history, through real servers.

Every figure asserted here is worked out by hand from the script below, not from the product:
a crash, a maintenance window, a goodbye, a receiver outage, a Redis outage and a whole upstream
type down with its downstream casualties. Two exporters read the same Redis the whole time, and
a third, started afterwards, must give the same answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from werkzeug.security import generate_password_hash

from exporter.state.availability import BAD, GOOD, Change
from exporter.state.ledger import CAP, MAX_ENTRY_BYTES, Ledger
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import wait_until
from heartbeat_core.config import Settings, from_mapping
from heartbeat_core.keys import KeySpace
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock

DAY = 86400
T0 = 20_000 * DAY + 3600  # an hour into a UTC day: the whole script falls in one day
STEP = 10
SERVICES = {"kafka-1": "kafka", "backend-1": "backend", "backend-2": "backend"}


@dataclass
class Script:
    redis: RedisServer
    settings: Settings
    clock: FakeClock
    receiver: Flask
    exporters: list[Flask]
    token: str
    quiet: set[str] = field(default_factory=set)

    def at(self, t: float) -> float:
        return T0 + t

    def read(self) -> None:
        for exporter in self.exporters:
            exporter.test_client().get("/metrics")

    def beat(self, name: str, **fields: Any) -> None:
        response = self.receiver.test_client().post("/heartbeat", json={"service": name, **fields})
        assert response.status_code == 200, response.get_data()

    def step(self) -> None:
        """Ten seconds on: every service not quiet beats, and both exporters read."""
        self.clock.advance(STEP)
        for name in SERVICES:
            if name not in self.quiet:
                self.beat(name)
        self.read()

    def until(self, t: float) -> None:
        while self.clock.now < self.at(t):
            self.step()

    def api(self, path: str, exporter: Flask | None = None, **kwargs: Any) -> Any:
        client = (exporter or self.exporters[0]).test_client()
        method = kwargs.pop("method", "GET")
        response = client.open(
            path, method=method, headers={"Authorization": f"Bearer {self.token}"}, **kwargs
        )
        assert response.status_code in (200, 201), response.get_data()
        return response.get_json()

    def ingest(self, up: float) -> float:
        return (
            self.exporters[0]
            .test_client()
            .get("/metrics")
            .get_data(as_text=True)
            .count(f"heartbeat_ingest_up {up}")
        )


@pytest.fixture
def script(tmp_path: Path) -> Iterator[Script]:
    # a Redis that keeps its data across a restart, as a production one does
    redis = RedisServer(
        folder=tmp_path / "redis", extra_args=("--appendonly", "yes", "--appendfsync", "always")
    )
    redis.folder.mkdir()
    redis.start()
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings = from_mapping(
        {
            "redis_url": redis.url,
            "users": users,
            "secret_key": "s" * 32,
            "receiver_ttl": 1,
            "redis_key_prefix": f"avail-{uuid.uuid4().hex[:8]}",
            "snapshot_cache_seconds": 0,
        }
    )
    clock = FakeClock(T0)
    receiver = create_receiver(settings, clock=clock)
    exporters = [create_exporter(settings, clock=clock) for _ in range(2)]
    login = (
        exporters[0]
        .test_client()
        .post("/auth/login", json={"username": "alice", "password": "alice-password"})
    )
    yield Script(redis, settings, clock, receiver, exporters, login.get_json()["access_token"])
    receiver.presence.stop()
    redis.close()


def run(script: Script) -> None:
    """The history; each comment gives the time each state begins, to the second."""
    for name in SERVICES:
        script.beat(name)
    script.read()
    script.until(100)
    script.quiet.add("backend-2")  # crash: last beat at 100, down after its 60 s timeout, at 160
    script.until(290)
    script.quiet.discard("backend-2")  # back with its beat at 300
    script.until(350)
    window = {
        "service_prefix": "backend-1",
        "start": script.at(400),
        "end": script.at(500),
        "reason": "upgrade",
    }
    script.api("/maintenance", method="POST", json=window)  # backend-1 paused from 400 to 500
    script.until(590)
    script.quiet.add("backend-1")
    script.clock.advance(STEP)
    script.beat("backend-1", status="stopping")  # goodbye at 600: paused until its beat at 700
    for name in ("kafka-1", "backend-2"):
        script.beat(name)
    script.read()
    script.until(690)
    script.quiet.discard("backend-1")
    script.until(800)
    script.receiver.presence.stop()  # receiver outage: the first blind read at 800, back at 900
    wait_until(lambda: script.ingest(0) == 1, timeout=10)
    script.quiet |= set(SERVICES)
    script.until(890)
    script.clock.advance(STEP)
    script.receiver.presence.announce()
    script.quiet.clear()
    for name in SERVICES:
        script.beat(name)
    script.read()
    script.until(1000)
    script.redis.stop()  # Redis outage: the first failed read at 1010, back at 1100
    script.clock.advance(STEP)
    script.read()
    script.clock.advance(90)
    script.redis.start()
    script.receiver.presence.announce()
    for name in SERVICES:
        script.beat(name)
    script.read()
    script.until(1200)
    script.quiet.add("kafka-1")  # kafka down as a whole at 1320 (last beat 1200, timeout 120)
    script.until(1250)
    script.quiet |= {"backend-1", "backend-2"}  # backend down at 1310: its own fault for 10 s
    script.until(1490)
    script.quiet.clear()  # all back at 1500
    script.until(1600)


def figure(
    good: float, bad: float, own_bad: float, paused: float, unknown: float, caused: dict[str, float], n: int
) -> dict[str, Any]:
    return {
        "availability": round(good / (good + bad), 6),
        "own_availability": round(good / (good + own_bad), 6),
        "good_seconds": good,
        "bad_seconds": bad,
        "excluded_seconds": {"paused": paused, "unknown": unknown},
        "caused_upstream_seconds": caused,
        "incidents": n,
    }


# worked out by hand from the script: unknown 800–900 and 1010–1100 for everyone (190 s)
KAFKA = figure(1600 - 190 - 180, 180, 180, 0, 190, {}, 1)  # down 1320–1500
BACKEND_1 = figure(1600 - 200 - 190 - 190, 190, 10, 200, 190, {"kafka": 180}, 1)  # paused 400–500, 600–700
BACKEND_2 = figure(1600 - 190 - 330, 330, 150, 0, 190, {"kafka": 180}, 2)  # down 160–300, 1310–1500
# a type is bad while any of its services is: 160–300, 1310–1320 its own, 1320–1500 kafka's
BACKEND = figure(1600 - 190 - 330, 330, 150, 0, 190, {"kafka": 180}, 2)
EXPECTED = {
    "types": {"backend": BACKEND, "kafka": KAFKA},
    "services": {
        "backend-1": {"service_type": "backend", **BACKEND_1},
        "backend-2": {"service_type": "backend", **BACKEND_2},
        "kafka-1": {"service_type": "kafka", **KAFKA},
    },
}


def test_a_scripted_history_gives_every_figure_to_the_second(script: Script) -> None:
    run(script)
    window = f"{script.at(0):.0f},{script.at(1600):.0f}"
    late = create_exporter(script.settings, clock=script.clock)  # a third exporter, started afterwards
    for exporter in [*script.exporters, late]:
        answer = script.api(f"/availability?window={window}", exporter)
        assert answer["window"] == {"start": script.at(0), "end": script.at(1600)}
        assert {k: answer[k] for k in ("types", "services")} == EXPECTED

    daily = script.api("/availability/daily?days=2")
    today = T0 // DAY
    for name, expected in EXPECTED["types"].items():
        yesterday, day = daily["types"][name]["days"]
        assert yesterday["date"] != day["date"] and yesterday["availability"] is None  # nothing recorded
        assert day["start"] == today * DAY
        assert {k: v for k, v in day.items() if k not in ("date", "start")} == expected
    for name, expected in EXPECTED["services"].items():
        entry = daily["services"][name]
        assert entry["service_type"] == expected["service_type"]
        assert {k: v for k, v in entry["days"][-1].items() if k not in ("date", "start")} == {
            k: v for k, v in expected.items() if k != "service_type"
        }

    crash, cascade = script.api("/incidents?window=1d")
    assert crash | {"id": 0} == {
        "id": 0,
        "start": script.at(160),
        "end": script.at(300),
        "service_type": "backend",
        "services": ["backend-2"],
        "types": ["backend"],
        "root": None,
        "state": "down",
        "notes": [],
    }
    # one incident for the whole upstream type down and its casualties, naming the root
    assert cascade["start"] == script.at(1310) and cascade["end"] == script.at(1500)
    assert cascade["service_type"] == "kafka" and cascade["root"] == "kafka" and cascade["state"] == "down"
    assert sorted(cascade["services"]) == ["backend-1", "backend-2", "kafka-1"]

    noted = script.api(
        f"/incidents/{cascade['id']}/notes", method="POST", json={"text": "kafka's disk filled"}
    )
    assert [n["text"] for n in noted["notes"]] == ["kafka's disk filled"]
    assert script.api("/incidents?window=1d", late)[1]["notes"][0]["author"] == "alice"


def test_bad_input_gets_a_clear_4xx(script: Script) -> None:
    client = script.exporters[0].test_client()
    auth = {"Authorization": f"Bearer {script.token}"}
    for path in (
        "/availability?window=3w",
        "/availability?window=5,4",
        "/availability/daily?days=0",
        "/report?month=2026-13",
    ):
        response = client.get(path, headers=auth)
        assert response.status_code == 400 and response.get_json()["error"].startswith("invalid_"), path
    assert client.get("/availability").status_code == 401
    assert client.post("/incidents/7/notes", headers=auth, json={"text": "x"}).status_code == 404
    assert client.post("/incidents/1/notes", headers=auth, json={"text": "x" * 2001}).status_code == 400


def test_a_flapping_service_day_stays_within_its_bound(redis_server: RedisServer) -> None:
    """Hundreds of changes in one day fold into a bounded field, and the day's totals stay exact."""
    settings = from_mapping(
        {"redis_url": redis_server.url, "redis_key_prefix": f"flap-{uuid.uuid4().hex[:8]}"}
    )
    space = KeySpace(redis.Redis.from_url(redis_server.url), settings.redis_key_prefix)
    ledger = Ledger(space, settings.service_types, settings.pipeline, settings.availability_retention)
    day = 20_000 * DAY
    changes = [
        Change(day + 7 * i, "s\tredis-1", (GOOD, BAD)[i % 2], "redis", "redis", "down")
        for i in range(10 * CAP)
    ]
    changes.append(Change(day + DAY + 5, "s\tredis-1", GOOD, "redis", "redis"))
    ledger._send(changes)
    entry = space.client.hget(space.ledger_day + str(20_000), "s\tredis-1")
    assert entry is not None and len(entry) <= MAX_ENTRY_BYTES
    reader = create_exporter(settings).exporter.ledger
    figures = reader.window(day, day + DAY, day + DAY + 10)["s\tredis-1"]
    last = day + 7 * (10 * CAP - 1)  # the last change, to bad, lasts until the day's end
    assert figures.good == 7 * 5 * CAP and figures.own_bad == 7 * (5 * CAP - 1) + day + DAY - last
