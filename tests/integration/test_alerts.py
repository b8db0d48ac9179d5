"""Alert rules and Alertmanager configuration, checked by Prometheus' own tools."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alerts" / "heartbeat.rules.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"


def run(*command: str, cwd: Path = ROOT) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_rules_pass_promtool_check_without_warnings() -> None:
    output = run("promtool", "check", "rules", str(RULES))
    assert "SUCCESS" in output
    assert "WARNING" not in output.upper(), output
    assert "lint" not in output.lower(), output


def test_rule_unit_tests_pass_and_load_real_rule_files() -> None:
    tests = sorted((ROOT / "alerts" / "tests").glob("*.yml"))
    assert tests
    for test in tests:
        spec = yaml.safe_load(test.read_text(encoding="utf-8"))
        # promtool 2.42 only warns when a rule_files entry matches nothing: fail on it here
        for pattern in spec["rule_files"]:
            assert list(test.parent.glob(pattern)), f"{test.name}: {pattern} matches no file"
        assert all("interval" in case for case in spec["tests"]), "every test needs its own interval"
        output = run("promtool", "test", "rules", str(test))
        assert "SUCCESS" in output and "FAILED" not in output and "WARNING" not in output.upper(), output


def test_every_alert_is_tested_and_documented() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tested = {
        case["alertname"]
        for test in (ROOT / "alerts" / "tests").glob("*.yml")
        for t in yaml.safe_load(test.read_text(encoding="utf-8"))["tests"]
        for case in t.get("alert_rule_test", [])
    }
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    for alert in alerts:
        name = alert["alert"]
        assert name in tested, f"{name} has no promtool unit test"
        # the watchdog alone reaches no person: its own route sends it to a dead man's switch
        assert alert["labels"]["severity"] in (
            ("none",) if name == "HeartbeatWatchdog" else ("critical", "warning")
        )
        notes = alert["annotations"]
        assert notes["summary"] and notes["description"]
        anchor = notes["runbook_url"].rsplit("#", 1)[1]
        assert anchor in anchors, f"{name}: docs/runbook.md has no section #{anchor}"


def test_alertmanager_example_passes_amtool() -> None:
    output = run("amtool", "check-config", str(ROOT / "alerts" / "alertmanager.yml"))
    assert "SUCCESS" in output
    config = yaml.safe_load((ROOT / "alerts" / "alertmanager.yml").read_text(encoding="utf-8"))
    assert "service_type" in config["route"]["group_by"]
    inhibited = " ".join(" ".join(rule["target_matchers"]) for rule in config["inhibit_rules"])
    assert "HeartbeatMissing" in inhibited


def test_notify_becomes_alertmanagers_own_receivers_and_the_watchdog_its_own(tmp_path: Path) -> None:
    """SPEC §18: `notify` rendered by alert-config into webhook, Slack and email integrations that
    amtool accepts; `--watchdog-url` routes HeartbeatWatchdog, and nothing else, to it."""
    config = tmp_path / "heartbeat.yml"
    config.write_text(
        "notify:\n"
        "  webhook: ['https://pager.example/hook']\n"
        "  slack: [{url: 'https://hooks.slack.example/T0/B0/x', channel: '#ops'}]\n"
        "  email: [{to: oncall@example.org, from: monitor@example.org, smarthost: 'smtp.example.org:587'}]\n",
        encoding="utf-8",
    )
    rendered = run(
        sys.executable, "-m", "exporter", "--config", str(config), "alert-config",
        "--watchdog-url", "https://hc-ping.example/dead-mans-switch",
    )  # fmt: skip
    (tmp_path / "alertmanager.yml").write_text(rendered, encoding="utf-8")
    assert "SUCCESS" in run("amtool", "check-config", str(tmp_path / "alertmanager.yml"))
    receivers = {r["name"]: r for r in yaml.safe_load(rendered)["receivers"]}
    for name in ("on-call", "team-chat"):
        assert receivers[name]["webhook_configs"] == [
            {"url": "https://pager.example/hook", "send_resolved": True}
        ]
        assert receivers[name]["slack_configs"][0]["channel"] == "#ops"
        assert receivers[name]["email_configs"][0]["smarthost"] == "smtp.example.org:587"
    assert receivers["watchdog"] == {
        "name": "watchdog",
        "webhook_configs": [{"url": "https://hc-ping.example/dead-mans-switch", "send_resolved": False}],
    }

    def receiver(*labels: str) -> str:
        file = f"--config.file={tmp_path / 'alertmanager.yml'}"
        return run("amtool", "config", "routes", "test", file, *labels).splitlines()[0].strip()

    assert receiver("alertname=HeartbeatWatchdog", "severity=none") == "watchdog"
    assert receiver("alertname=HeartbeatMissing", "severity=critical", "service_type=kafka") == "on-call"
