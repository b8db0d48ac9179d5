"""The alerting path from the one command (SPEC §18): ``heartbeat-monitor`` runs real Prometheus
and Alertmanager, and a stopped service reaches the ``notify`` webhook, through Alertmanager."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness.served import RecordingServer
from harness.servers import wait_until
from heartbeat_agent import HeartbeatSender
from tests.integration.monitor import launch

TIMEOUT = 15.0  # the backend type's timeout here, so that the test waits seconds, not minutes
# the shipped path: 15 s scrapes and evaluations, `for: 30s`, the critical route's group_wait 30 s
PAGED_WITHIN = TIMEOUT + 15 + 15 + 30 + 30 + 20


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def paged(hook: RecordingServer) -> list[tuple[str, str, str]]:
    """(receiver, alertname, service_name) of every firing alert Alertmanager delivered."""
    return [
        (body["receiver"], a["labels"]["alertname"], a["labels"].get("service_name", ""))
        for body in hook.bodies
        for a in body["alerts"]
        if a["status"] == "firing"
    ]


def test_a_stopped_service_reaches_the_notify_webhook_and_no_other_does(tmp_path: Path) -> None:
    hook = RecordingServer()
    config = tmp_path / "heartbeat.yml"
    config.write_text(
        f"types: {{backend: {{timeout: {TIMEOUT:g}}}}}\n"
        f"notify: {{webhook: ['http://127.0.0.1:{hook.server_port}/hook']}}\n",
        encoding="utf-8",
    )
    with launch(tmp_path, "--config", str(config), demo=False, alerting=True) as monitor:
        text = "".join(monitor.output)
        assert f"prometheus   http://127.0.0.1:{monitor.prometheus}/" in text, text
        assert f"alertmanager http://127.0.0.1:{monitor.alertmanager}/  (notify: webhook)" in text, text
        url = f"http://127.0.0.1:{monitor.receiver}/heartbeat"
        senders = [
            HeartbeatSender(url, interval=2.0, payload={"service": f"backend-{i}"}) for i in range(1, 4)
        ]
        for sender in senders:
            sender.start()
        try:
            prometheus = f"http://127.0.0.1:{monitor.prometheus}"
            wait_until(  # the exporter scraped, with every service up
                lambda: len(get(f"{prometheus}/api/v1/query?query=heartbeat_up==1")["data"]["result"]) == 3,
                timeout=60,
                interval=1,
            )
            stopped = time.monotonic()
            senders[1].stop(goodbye=False)  # a crash: no goodbye
            wait_until(lambda: paged(hook), timeout=PAGED_WITHIN, interval=0.5)
            took = time.monotonic() - stopped
            time.sleep(5)  # anything else in flight arrives too
        finally:
            for sender in senders:
                sender.stop()
        assert paged(hook) == [("on-call", "HeartbeatMissing", "backend-2")], (took, hook.bodies)
        # the watchdog fires too, to its own receiver, which has no integration here: nobody
        alerts = get(f"http://127.0.0.1:{monitor.alertmanager}/api/v2/alerts")
        assert "HeartbeatWatchdog" in {a["labels"]["alertname"] for a in alerts}
    hook.shutdown()
    for port in (monitor.prometheus, monitor.alertmanager):  # stopped with the monitor
        assert not listening(port)


def test_no_alerting_starts_neither(tmp_path: Path) -> None:
    with launch(tmp_path, demo=False) as monitor:  # launch passes --no-alerting unless asked
        text = "".join(monitor.output)
        assert "alerting     off (--no-alerting)" in text, text
        assert not (tmp_path / "data" / "prometheus").exists()
        assert not listening(monitor.prometheus) and not listening(monitor.alertmanager)


def test_a_missing_binary_says_how_to_install_it_and_the_rest_runs(tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "redis-server").symlink_to("/usr/bin/redis-server")  # redis, and nothing of alerting
    with launch(tmp_path, demo=False, alerting=True, path=str(folder)) as monitor:
        text = "".join(monitor.output)
        line = next(line for line in monitor.output if line.startswith("alerting"))
        assert line.strip() == (
            "alerting     off: prometheus is not installed: apt-get install prometheus "
            "prometheus-alertmanager (bash scripts/bootstrap.sh run does it); or run with --no-alerting"
        ), text
        assert get(f"http://127.0.0.1:{monitor.exporter}/healthz") == {"status": "ok"}


def post(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def test_a_service_still_down_when_its_window_ends_pages_once_then(tmp_path: Path) -> None:
    """SPEC §18 (Uptime Kuma #7148): down, then a window before it paged; paused through the
    window, down the moment it ends, and one notification, after the window."""
    hook = RecordingServer()
    config = tmp_path / "heartbeat.yml"
    config.write_text(
        f"types: {{backend: {{timeout: {TIMEOUT:g}}}}}\n"
        f"notify: {{webhook: ['http://127.0.0.1:{hook.server_port}/hook']}}\n",
        encoding="utf-8",
    )
    password = "window-test-password"
    extra = ("--config", str(config), "--admin-password", password)
    with launch(tmp_path, *extra, demo=False, alerting=True) as monitor:
        exporter = f"http://127.0.0.1:{monitor.exporter}"
        url = f"http://127.0.0.1:{monitor.receiver}/heartbeat"
        senders = [
            HeartbeatSender(url, interval=2.0, payload={"service": f"backend-{i}"}) for i in range(1, 5)
        ]
        for sender in senders:
            sender.start()
        try:
            token = post(f"{exporter}/auth/login", {"username": "admin", "password": password})[
                "access_token"
            ]
            key = (
                "heartbeat_state",
                (("service_name", "backend-4"), ("service_type", "backend"), ("state", "{}")),
            )

            def state(name: str) -> bool:
                return monitor.metrics().get((key[0], (*key[1][:2], ("state", name)))) == 1

            wait_until(lambda: state("up"), timeout=30, interval=0.5)
            senders[3].stop(goodbye=False)
            wait_until(lambda: state("down"), timeout=TIMEOUT + 10, interval=0.5)
            now = time.time()
            window = {"service_prefix": "backend-4", "start": now, "end": now + 40, "reason": "disk swap"}
            post(f"{exporter}/maintenance", window, token)
            wait_until(lambda: state("paused"), timeout=5, interval=0.2)
            wait_until(lambda: time.time() > window["end"], timeout=60, interval=0.5)
            assert not paged(hook), hook.bodies  # nothing while it was down, nor in the window
            wait_until(lambda: state("down"), timeout=5, interval=0.2)  # at once: no grace after it
            ended = time.monotonic()
            wait_until(lambda: paged(hook), timeout=15 + 15 + 30 + 30 + 20, interval=0.5)
            took = time.monotonic() - ended
            time.sleep(5)
        finally:
            for sender in senders:
                sender.stop()
    hook.shutdown()
    assert paged(hook) == [("on-call", "HeartbeatMissing", "backend-4")], (took, hook.bodies)
