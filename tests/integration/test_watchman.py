"""Who watches the watchman (SPEC §18), on a real Prometheus scraping itself: with Alertmanager
gone, HeartbeatAlertmanagerUnreachable fires; with a rule that fails on every evaluation,
HeartbeatRulesFailing fires; and the watchdog fires throughout."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

from harness.alertmanager import AlertmanagerServer
from harness.ports import free_port
from harness.servers import PrometheusServer, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alerts" / "heartbeat.rules.yml"
# a rule that passes promtool's check and fails on data: two series matched one-to-one on nothing
BROKEN = {
    "groups": [
        {
            "name": "broken",
            "rules": [
                {
                    "record": "broken:many_to_one",
                    "expr": '(vector(1) or label_replace(vector(1), "a", "b", "", "")) * on () vector(1)',
                }
            ],
        }
    ]
}


def firing(prometheus: PrometheusServer) -> dict[str, dict[str, str]]:
    url = f"http://127.0.0.1:{prometheus.port}/api/v1/alerts"
    with urllib.request.urlopen(url, timeout=5) as response:
        alerts = json.load(response)["data"]["alerts"]
    return {a["labels"]["alertname"]: a["labels"] for a in alerts if a["state"] == "firing"}


def test_a_stopped_alertmanager_and_a_failing_rule_each_fire_their_alert(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rules.yml"
    broken.write_text(yaml.safe_dump(BROKEN), encoding="utf-8")
    config = yaml.safe_load((ROOT / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    alertmanager = AlertmanagerServer(config)
    prometheus = PrometheusServer(
        free_port(),  # no exporter: only the watchman's alerts matter here
        [str(RULES), str(broken)],
        alertmanager_port=alertmanager.port,
        scrape_self=True,
        flags=("--rules.alert.resend-delay=1s",),  # the watchdog's resend, once a second
    )
    try:
        wait_until(lambda: "HeartbeatWatchdog" in firing(prometheus), timeout=30, interval=0.5)
        names = lambda: {a["labels"]["alertname"] for a in alertmanager.alerts()}  # noqa: E731
        wait_until(lambda: "HeartbeatWatchdog" in names(), timeout=30, interval=0.5)  # delivered
        assert "HeartbeatAlertmanagerUnreachable" not in firing(prometheus)
        alertmanager.close()
        wait_until(
            lambda: {"HeartbeatAlertmanagerUnreachable", "HeartbeatRulesFailing"} <= set(firing(prometheus)),
            timeout=240,
            interval=1,
        )
        failing = firing(prometheus)["HeartbeatRulesFailing"]
        assert failing["rule_group"] == f"{broken};broken"  # the group that fails, not every group
        assert failing["severity"] == "critical"
        assert "HeartbeatWatchdog" in firing(prometheus)
    finally:
        prometheus.close()
        alertmanager.close()  # again, when the test failed before it stopped it: a no-op otherwise
