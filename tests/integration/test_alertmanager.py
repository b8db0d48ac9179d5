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
from heartbeat_core.config import from_mapping

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
        # a job's pages too: a run due while the monitor was blind is not the job's fault
        alert("HeartbeatJobMissed", service_name=f"{monitor}-etl", service_type="other", **EXPORTER),
        alert("HeartbeatJobOverrun", service_name=f"{monitor}-dump", service_type="redis", **EXPORTER),
    ]
    alertmanager.post([alert(monitor, **EXPORTER), *services])
    names = {
        monitor,
        "HeartbeatMissing",
        "HeartbeatServiceTypeDown",
        "HeartbeatJobMissed",
        "HeartbeatJobOverrun",
    }

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


def test_the_database_down_holds_back_every_edges_stale_data(alertmanager: AlertmanagerServer) -> None:
    """SPEC §14: with the database down, only the database pages; its tables going stale say nothing more."""
    job = {"job": "stale-db"}
    edges = [link.name for link in TOPOLOGY.links]
    stale = [alert("HeartbeatDataStale", edge=edge, **job) for edge in edges]
    alertmanager.post([alert("HeartbeatDatabaseDown", database="pipeline", **job), *stale])

    def verdicts() -> dict[str, str]:
        return {
            a["labels"].get("edge", "database"): a["status"]["state"]
            for a in alertmanager.alerts()
            if a["labels"].get("job") == job["job"]
        }

    wait_until(lambda: all(verdicts().get(e) == "suppressed" for e in edges), timeout=15, interval=0.2)
    assert verdicts()["database"] == "active"  # the one page


TOPOLOGY = from_mapping({}).pipeline


@pytest.mark.parametrize("root", [n for n in TOPOLOGY.nodes if TOPOLOGY.downstream_links(n)])
def test_a_root_down_holds_back_downstream_traffic_and_stalls_and_pages_itself(root: str) -> None:
    alertmanager = AlertmanagerServer(
        yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    )  # its own: no leftovers
    try:
        check_root(alertmanager, root)
    finally:
        alertmanager.close()


def check_root(alertmanager: AlertmanagerServer, root: str) -> None:
    job = {"job": f"topology-{root}"}
    if root == "database":
        source = alert("HeartbeatDatabaseDown", database="pipeline", edge="", **job)
    else:
        source = alert("HeartbeatServiceTypeDown", service_type=root, **job)
    downstream = [link.name for link in TOPOLOGY.downstream_links(root)]
    unrelated = [link.name for link in TOPOLOGY.links if link.name not in downstream]
    stalls = [t for t in TOPOLOGY.downstream_nodes(root) if t != "database"]
    targets = [
        alert(name, edge=e, severity="warning", **job)
        for e in downstream + unrelated
        for name in ("HeartbeatTrafficStopped", "HeartbeatDataStale")
    ]
    targets += [
        alert(name, service_type=t, service_name=f"{root}-{t}-1", severity="warning", **job)
        for t in stalls
        for name in ("HeartbeatStalled", "HeartbeatLagging")
    ]
    alertmanager.post([source, *targets])

    def verdicts() -> dict[str, str]:
        return {
            f"{a['labels']['alertname']}/{a['labels'].get('edge') or a['labels'].get('service_name', '')}": a[
                "status"
            ]["state"]
            for a in alertmanager.alerts()
            if a["labels"].get("job") == job["job"]
        }

    # the database holds every edge's stale data (all the log tables are in it)
    stale_held = downstream + unrelated if root == "database" else downstream
    expected = {
        **{f"HeartbeatTrafficStopped/{e}": "suppressed" for e in downstream},
        **{f"HeartbeatTrafficStopped/{e}": "active" for e in unrelated},
        **{f"HeartbeatDataStale/{e}": "suppressed" for e in stale_held},
        **{f"HeartbeatDataStale/{e}": "active" for e in unrelated if e not in stale_held},
        **{
            f"{name}/{root}-{t}-1": "suppressed"
            for t in stalls
            for name in ("HeartbeatStalled", "HeartbeatLagging")
        },
    }
    wait_until(lambda: all(verdicts().get(k) == v for k, v in expected.items()), timeout=15, interval=0.2)
    root_alert = source["labels"]["alertname"]
    assert verdicts()[f"{root_alert}/"] == "active"  # the root itself pages


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
        (["alertname=HeartbeatFailing", "severity=critical", "service_type=kafka"], "on-call"),
        (["alertname=HeartbeatWarning", "severity=warning", "service_type=backend"], "team-chat"),
        (["alertname=HeartbeatJobMissed", "severity=critical", "service_type=other"], "on-call"),
        (["alertname=HeartbeatJobOverrun", "severity=critical", "service_type=backend"], "on-call"),
        (["alertname=HeartbeatJobFailed", "severity=critical", "service_type=frontend"], "on-call"),
        (["alertname=HeartbeatJobTooFast", "severity=warning", "service_type=other"], "team-chat"),
        # the watchman (SPEC §18): the watchdog to its own receiver only, its failures paged
        (["alertname=HeartbeatWatchdog", "severity=none"], "watchdog"),
        (["alertname=HeartbeatAlertmanagerUnreachable", "severity=critical"], "on-call"),
        (["alertname=HeartbeatRulesFailing", "severity=critical"], "on-call"),
        (["alertname=HeartbeatTestNotification", "severity=critical"], "on-call"),
    ],
)
def test_routes(labels: list[str], receiver: str) -> None:
    assert route(*labels) == receiver


def test_the_monitor_alerts_are_sent_at_once_grouped_by_name() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    (monitor,) = [r for r in config["route"]["routes"] if "HeartbeatIngestDown" in r["matchers"][0]]
    assert monitor["group_wait"] == "5s" and monitor["group_by"] == ["alertname"]
