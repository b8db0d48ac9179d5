"""The shipped routes and inhibitions on a real Alertmanager: what pages, and what is held back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.alertmanager import AlertmanagerServer
from harness.servers import wait_until

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "alerts" / "alertmanager.yml"
EXPORTER = {"job": "heartbeat-exporter", "instance": "exp:26003"}


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[AlertmanagerServer]:
    server = AlertmanagerServer(yaml.safe_load(CONFIG.read_text(encoding="utf-8")))
    yield server
    server.close()


def alert(name: str, **labels: str) -> dict[str, Any]:
    severity = labels.pop("severity", "critical")
    return {"labels": {"alertname": name, "severity": severity, **labels}}


def states(server: AlertmanagerServer, names: set[str]) -> dict[tuple[str, str], str]:
    return {
        (a["labels"]["alertname"], a["labels"].get("service_name", a["labels"].get("edge", ""))): a["status"][
            "state"
        ]
        for a in server.alerts()
        if a["labels"]["alertname"] in names
    }


@pytest.mark.parametrize("monitor", ["HeartbeatStoreDown", "HeartbeatIngestDown", "HeartbeatExporterDown"])
def test_a_monitor_outage_holds_back_every_service_page(
    alertmanager: AlertmanagerServer, monitor: str
) -> None:
    services = [
        alert("HeartbeatMissing", service_name=f"{monitor}-redis-1", service_type="redis", **EXPORTER),
        alert("HeartbeatServiceTypeDown", service_name=f"{monitor}-type", service_type="kafka", **EXPORTER),
    ]
    alertmanager.post([alert(monitor, **EXPORTER), *services])
    names = {monitor, "HeartbeatMissing", "HeartbeatServiceTypeDown"}

    def settled() -> bool:
        found = states(alertmanager, names)
        return found.get((monitor, "")) == "active" and all(
            found.get((a["labels"]["alertname"], a["labels"]["service_name"])) == "suppressed"
            for a in services
        )

    wait_until(settled, timeout=15, interval=0.2)


def test_a_whole_type_down_holds_back_its_services_only(alertmanager: AlertmanagerServer) -> None:
    alertmanager.post(
        [
            alert("HeartbeatServiceTypeDown", service_type="frontend", service_name="type", job="j2"),
            alert("HeartbeatMissing", service_name="frontend-9", service_type="frontend", job="j2"),
            alert("HeartbeatMissing", service_name="backend-9", service_type="backend", job="j2"),
        ]
    )
    names = {"HeartbeatMissing", "HeartbeatServiceTypeDown"}
    wait_until(
        lambda: states(alertmanager, names).get(("HeartbeatMissing", "frontend-9")) == "suppressed",
        timeout=15,
        interval=0.2,
    )
    assert states(alertmanager, names)[("HeartbeatMissing", "backend-9")] == "active"


def test_a_database_outage_holds_back_stopped_traffic(alertmanager: AlertmanagerServer) -> None:
    alertmanager.post(
        [
            alert("HeartbeatDatabaseDown", database="pipeline", job="j3"),
            alert("HeartbeatTrafficStopped", edge="kafka_to_database", severity="warning", job="j3"),
        ]
    )
    wait_until(
        lambda: (
            states(alertmanager, {"HeartbeatTrafficStopped"}).get(
                ("HeartbeatTrafficStopped", "kafka_to_database")
            )
            == "suppressed"
        ),
        timeout=15,
        interval=0.2,
    )


def route(*labels: str) -> str:
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={CONFIG}", *labels],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=HeartbeatMissing", "severity=critical", "service_type=kafka"], "on-call"),
        (["alertname=HeartbeatMissing", "severity=warning", "service_type=frontend"], "team-chat"),
        (["alertname=HeartbeatIngestDown", "severity=critical"], "on-call"),
        (["alertname=HeartbeatStoreDown", "severity=critical"], "on-call"),
        (["alertname=HeartbeatExporterDown", "severity=critical"], "on-call"),
        (["alertname=HeartbeatTrafficStopped", "severity=warning", "edge=kafka_to_database"], "team-chat"),
        (["alertname=HeartbeatDatabaseDown", "severity=critical"], "on-call"),
    ],
)
def test_routes(labels: list[str], receiver: str) -> None:
    assert route(*labels) == receiver


def test_the_monitor_alerts_are_sent_at_once_grouped_by_name() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    (monitor,) = [r for r in config["route"]["routes"] if "HeartbeatIngestDown" in r["matchers"][0]]
    assert monitor["group_wait"] == "5s" and monitor["group_by"] == ["alertname"]
