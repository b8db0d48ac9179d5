"""``GET /alerts`` and ``POST /alerts/test`` against a real Alertmanager with the shipped routes
(SPEC §18): what pages now, viewer-safe; a test page that takes the real path to on-call."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from exporter.alertconfig import Targets, alertmanager_config
from exporter.web.app import create_app
from harness.alertmanager import AlertmanagerServer
from harness.redis import RedisServer
from harness.served import RecordingServer
from harness.servers import wait_until
from heartbeat_core.config import from_mapping
from tests.support import FakeClock

USERS = {
    "alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"},
    "bob": {"password_hash": generate_password_hash("bob-password"), "role": "viewer"},
}


@pytest.fixture
def hook() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.shutdown()


@pytest.fixture
def alertmanager(hook: RecordingServer) -> Iterator[AlertmanagerServer]:
    url = f"http://127.0.0.1:{hook.server_port}/on-call"
    targets = Targets().overridden(on_call=url, chat=None, watchdog=None)
    server = AlertmanagerServer(yaml.safe_load(alertmanager_config(from_mapping({}), targets)))
    yield server
    server.close()


def client_for(redis_server: RedisServer, url: str, clock: FakeClock) -> FlaskClient:
    settings = from_mapping({"redis_url": redis_server.url, "users": USERS, "alertmanager_url": url})
    return create_app(settings, clock=clock).test_client()


def login(client: FlaskClient, user: str) -> dict[str, str]:
    answer = client.post("/auth/login", json={"username": user, "password": f"{user}-password"})
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "job": "heartbeat-exporter", "instance": "10.1.2.3:26003", **labels},
        "annotations": {"summary": f"{labels.get('service_name', '')} stopped sending heartbeats"},
    }


def test_viewers_see_what_pages_under_the_names_they_see_and_admins_see_all(
    redis_server: RedisServer, alertmanager: AlertmanagerServer
) -> None:
    clock = FakeClock(time.time())
    client = client_for(redis_server, alertmanager.url, clock)
    alertmanager.post(
        [
            alert(
                "HeartbeatMissing",
                severity="critical",
                service_name="type-4@10.0.0.7",
                service_type="backend",
            ),
            alert("HeartbeatWarning", severity="warning", service_name="frontend-1", service_type="frontend"),
            alert("HeartbeatWatchdog", severity="none"),
        ]
    )
    wait_until(lambda: len(alertmanager.alerts()) == 3, timeout=10)
    viewer = client.get("/alerts", headers=login(client, "bob")).get_json()
    assert viewer["alertmanager"] == "ok" and viewer["alerting_path"] == "works"
    # critical first
    assert [a["alertname"] for a in viewer["alerts"]] == ["HeartbeatMissing", "HeartbeatWarning"]
    missing = viewer["alerts"][0]
    assert missing["service_name"].startswith("type-4@host-") and missing["service_type"] == "backend"
    text = json.dumps(viewer)
    assert "10.0.0.7" not in text and "10.1.2.3" not in text and "annotations" not in text
    admin = client.get("/alerts", headers=login(client, "alice")).get_json()
    assert admin["alerts"][0]["service_name"] == "type-4@10.0.0.7"
    assert admin["alerts"][0]["labels"]["instance"] == "10.1.2.3:26003"
    assert admin["alerts"][0]["receivers"] == ["on-call"]
    assert client.get("/alerts").status_code == 401


def test_no_watchdog_says_the_path_is_broken_and_one_read_serves_every_page_for_5_s(
    redis_server: RedisServer, alertmanager: AlertmanagerServer
) -> None:
    clock = FakeClock(time.time())
    client = client_for(redis_server, alertmanager.url, clock)
    headers = login(client, "bob")
    answer = client.get("/alerts", headers=headers).get_json()
    assert answer["alerting_path"] == "broken" and "HeartbeatWatchdog is not firing" in answer["message"]
    alertmanager.post([alert("HeartbeatWatchdog", severity="none")])
    wait_until(lambda: len(alertmanager.alerts()) == 1, timeout=10)
    assert client.get("/alerts", headers=headers).get_json()["alerting_path"] == "broken"  # the cached read
    clock.advance(5)
    assert client.get("/alerts", headers=headers).get_json()["alerting_path"] == "works"
    # the same exporter, pointed at a port where nothing listens: shown, not a 500
    gone = client_for(redis_server, "http://127.0.0.1:9", clock)
    down = gone.get("/alerts", headers=login(gone, "bob"))
    assert down.status_code == 200 and down.get_json()["alertmanager"] == "unreachable"
    assert down.get_json()["alerting_path"] == "broken"


def test_an_admin_sends_a_test_page_through_the_critical_route_a_viewer_may_not(
    redis_server: RedisServer, alertmanager: AlertmanagerServer, hook: RecordingServer
) -> None:
    clock = FakeClock(time.time())
    client = client_for(redis_server, alertmanager.url, clock)
    assert client.post("/alerts/test", headers=login(client, "bob")).status_code == 403
    sent = client.post("/alerts/test", headers=login(client, "alice"))
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["sent"]["alertname"] == "HeartbeatTestNotification"
    # the shipped critical route: on-call, after its group_wait (30 s)
    wait_until(lambda: any(body["receiver"] == "on-call" for body in hook.bodies), timeout=60, interval=0.5)
    (body,) = hook.bodies
    assert body["status"] == "firing"
    assert body["alerts"][0]["labels"]["alertname"] == "HeartbeatTestNotification"
    listed = client.get("/alerts", headers=login(client, "bob")).get_json()["alerts"]
    assert [a["alertname"] for a in listed] == ["HeartbeatTestNotification"]


def test_without_alertmanager_url_the_page_is_told_and_a_test_is_refused(redis_server: RedisServer) -> None:
    settings = from_mapping({"redis_url": redis_server.url, "users": USERS})
    client = create_app(settings).test_client()
    assert client.get("/alerts", headers=login(client, "bob")).get_json()["alertmanager"] == "not_configured"
    refused = client.post("/alerts/test", headers=login(client, "alice"))
    assert refused.status_code == 409 and refused.get_json()["error"] == "alertmanager_not_configured"
