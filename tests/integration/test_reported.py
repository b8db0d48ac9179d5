"""A service says how it is (SPEC §12): its status, message, metrics and info, from a real
receiver and Redis to /metrics and the status API; and no sender can grow the series."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, parse_samples

LABELS = {"service_name": "kafka-1", "service_type": "kafka"}
USERS = {"bob": {"password_hash": generate_password_hash("bob-password"), "role": "viewer"}}


@pytest.fixture
def apps(redis_server: RedisServer, clock: FakeClock) -> Iterator[tuple[Flask, Flask]]:
    # a body large enough for a thousand names, so that the cap, not the size, refuses them
    config = {
        "redis_url": redis_server.url,
        "users": USERS,
        "snapshot_cache_seconds": 0,
        "max_body_bytes": 65536,
    }
    settings = from_mapping(config)
    yield create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)


def send(receiver: Flask, **fields: Any) -> Any:
    return receiver.test_client().post("/heartbeat", json={"service": "kafka-1", **fields})


def scrape(exporter: Flask) -> str:
    return exporter.test_client().get("/metrics").get_data(as_text=True)


def value(text: str, metric: str, **labels: str) -> float | None:
    return parse_samples(text).get((metric, tuple(sorted({**LABELS, **labels}.items()))))


def test_what_a_service_reports_reaches_metrics_and_the_status_api(apps: tuple[Flask, Flask]) -> None:
    receiver, exporter = apps
    assert send(receiver).status_code == 200
    text = scrape(exporter)
    assert "heartbeat_reported_status{" not in text  # a fleet that is fine costs no series
    report = {
        "status": "warning",
        "message": "<b>disk</b> 91 % full",
        "metrics": {"queue_length": 42, "anomaly_score": 0.25},
        "info": {"version": "2.4.1", "os": "linux"},
    }
    assert send(receiver, **report).status_code == 200
    text = scrape(exporter)
    assert value(text, "heartbeat_reported_status", status="warning") == 1
    assert value(text, "heartbeat_reported_status", status="ok") == 0
    assert value(text, "heartbeat_metric", name="queue_length") == 42
    assert value(text, "heartbeat_metric", name="anomaly_score") == 0.25
    assert value(text, "heartbeat_info", version="2.4.1", os="linux") == 1
    assert value(text, "heartbeat_state", state="up") == 1  # a warning changes no state
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    http = exporter.test_client()
    login = http.post("/auth/login", json={"username": "bob", "password": "bob-password"}).get_json()
    answer = http.post(
        "/heartbeat/status", json={}, headers={"Authorization": f"Bearer {login['access_token']}"}
    )
    (service,) = answer.get_json()["service_status"]["kafka_process"]
    assert (service["status"], service["message"]) == ("warning", "<b>disk</b> 91 % full")  # for viewers too
    assert service["metrics"] == {"queue_length": 42, "anomaly_score": 0.25}
    assert service["info"] == {"version": "2.4.1", "os": "linux"}


def test_a_sender_with_a_thousand_metric_names_gets_a_400_and_grows_nothing(
    apps: tuple[Flask, Flask],
) -> None:
    receiver, exporter = apps
    assert send(receiver, metrics={"queue_length": 1}).status_code == 200
    before = scrape(exporter).count("\nheartbeat_metric{")
    flood = send(receiver, metrics={f"m{i}": i for i in range(1000)})
    assert flood.status_code == 400 and "max_metrics" in flood.get_json()["message"]
    assert scrape(exporter).count("\nheartbeat_metric{") == before == 1


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"message": "x" * 1001}, "'message'"),
        ({"metrics": {"__name__": 1}}, "'metrics'"),
        ({"metrics": {"service_name": 1}}, "'metrics'"),
        ({"metrics": {"ok": float("inf")}}, "'metrics.ok'"),
        ({"info": {f"k{i}": "v" for i in range(9)}}, "'info'"),
        ({"info": {"version": "x" * 129}}, "'info.version'"),
        ({"info": {"job": "x"}}, "'info'"),
    ],
)
def test_each_limit_is_a_400_naming_its_field(
    apps: tuple[Flask, Flask], fields: dict[str, Any], named: str
) -> None:
    receiver, _ = apps
    answer = receiver.test_client().post(
        "/heartbeat",
        data=json.dumps({"service": "kafka-1", **fields}, allow_nan=True),
        content_type="application/json",
    )
    assert answer.status_code == 400 and named in answer.get_json()["message"]


def test_a_service_that_says_it_is_failing_is_failing_at_the_next_scrape_and_alive(
    apps: tuple[Flask, Flask],
) -> None:
    receiver, exporter = apps
    assert send(receiver, status="failing", message="detector fired").status_code == 200
    text = scrape(exporter)
    assert value(text, "heartbeat_state", state="failing") == 1
    assert value(text, "heartbeat_up") == 1  # it beats: alive, and says it is broken
    assert value(text, "heartbeat_reported_status", status="failing") == 1
    assert value(text, "heartbeat_reported_message", message="detector fired") == 1  # for the dashboard
    assert send(receiver).status_code == 200  # an ok beat ends it, and its reported status's series
    text = scrape(exporter)
    assert value(text, "heartbeat_state", state="up") == 1 and "heartbeat_reported_status{" not in text
    assert "heartbeat_reported_message{" not in text


def test_failure_threshold_needs_that_many_failing_beats_in_a_row(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    config = {"redis_url": redis_server.url, "snapshot_cache_seconds": 0, "redis_key_prefix": "threshold"}
    settings = from_mapping({**config, "types": {"kafka": {"failure_threshold": 3}}})
    receiver, exporter = create_receiver(settings, clock=clock), create_exporter(settings, clock=clock)
    states = []
    for status in ("failing", "failing", "ok", "failing", "failing", "failing"):
        assert send(receiver, status=status).status_code == 200
        text = scrape(exporter)
        states.append(next(s for s in ("up", "failing") if value(text, "heartbeat_state", state=s) == 1))
    assert states == ["up", "up", "up", "up", "up", "failing"]  # the ok beat restarted the count


def test_control_characters_in_a_message_leave_the_exposition_parseable(
    apps: tuple[Flask, Flask], tmp_path: Any
) -> None:
    """CR, ESC and U+2028 went raw into the label; a line-splitting parser (Python's, reading a
    file opened in text mode) then broke the exposition. Line ends become "\\n"; ESC goes."""
    receiver, exporter = apps
    said = "disk\r\nfull\x1b[31m now\u2028see log\x85end"
    assert send(receiver, status="failing", message=said).status_code == 200
    text = scrape(exporter)
    exposition = tmp_path / "metrics.prom"
    exposition.write_text(text, encoding="utf-8")
    with open(exposition, encoding="utf-8") as again:  # universal newlines, as a reader would
        assert (
            value(again.read(), "heartbeat_reported_message", message="disk\nfull[31m now\nsee log\nend") == 1
        )
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert "error" not in checked.stderr.lower(), checked.stderr
