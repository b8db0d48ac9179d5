"""Synthetic weeks of pipeline traffic, judged by the shipped rules under promtool (SPEC §14).

    PYTHONPATH=. .venv/bin/python -m benchmarks.traffic_weeks        # the figures in docs/alert-quality.md

Five weeks per edge at one-minute resolution: four of history, and a fifth that is judged. The
traffic has a day (quiet at 04:00, busiest at 16:00), a week (weekends at 55 %), 10 % noise a
minute, growth of 3 % a week, a public holiday (a weekday at its weekend level) in the judged week
and another in the history, and, in the judged week, the incidents below. promtool evaluates the
traffic group of ``alerts/heartbeat.rules.yml`` over all of it (``input_series`` of 50,400 samples a
series) and is asked, every five minutes of the judged week, for no traffic alert at all; what it
reports instead are the alerts that fired, from which come precision, recall and each incident's
detection delay. Seeded: every run makes the same weeks.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "alerts" / "heartbeat.rules.yml"
WEEK = 7 * 1440  # minutes
WEEKS = 5
JUDGED = (WEEKS - 1) * WEEK  # the first minute of the judged week (a Monday, 00:00)
CHECK_EVERY = 5  # minutes between promtool's checks
ALERTS = ("HeartbeatTrafficDrop", "HeartbeatTrafficSurge")
WEEKEND = 0.55


@dataclass(frozen=True)
class Incident:
    edge: str
    kind: str  # drop, stop, surge, leak; or quiet: a stop where the edge is too quiet to judge
    start: int  # minute of the judged week
    end: int
    alert: str | None  # the alert it should raise; None: it should raise nothing
    bound: int  # minutes from its start within which the alert must fire

    def factor(self, minute: int) -> float:
        """What the incident does to the edge's rate at ``minute`` of the judged week."""
        if not self.start <= minute < self.end:
            return 1.0
        if self.kind == "drop":
            return 0.2
        if self.kind == "surge":
            return 4.0
        if self.kind == "leak":  # down from 100 % to 10 % in a straight line
            return 1.0 - 0.9 * (minute - self.start) / (self.end - self.start)
        return 0.0  # stop, quiet


def at(day: int, hour: float) -> int:
    return int(day * 1440 + hour * 60)


EDGES = {"kafka_to_database": 40.0, "redis_to_backend": 0.4}  # rows/s at the busiest hour of a weekday
INCIDENTS = (
    Incident("kafka_to_database", "drop", at(1, 11), at(1, 11.5), "HeartbeatTrafficDrop", 30),
    Incident("kafka_to_database", "stop", at(3, 14), at(3, 14.75), "HeartbeatTrafficDrop", 30),
    Incident("kafka_to_database", "surge", at(4, 10), at(4, 10 + 40 / 60), "HeartbeatTrafficSurge", 30),
    Incident("kafka_to_database", "leak", at(0, 13), at(0, 19), "HeartbeatTrafficDrop", 360),
    Incident("redis_to_backend", "drop", at(1, 15), at(1, 15.5), "HeartbeatTrafficDrop", 30),
    Incident("redis_to_backend", "quiet", at(5, 3), at(5, 4), None, 0),  # a Saturday night: 0.05 rows/s
)
HOLIDAYS = (at(2, 0) + JUDGED, at(3, 0) + 2 * WEEK)  # a Wednesday judged, a Thursday in the history


def rate(edge: str, minute: int, noise: float) -> float:
    """Rows per second on ``edge`` at ``minute`` since the first Monday, 00:00."""
    day, hour = minute // 1440 % 7, minute % 1440 / 60
    daily = 0.25 + 0.75 * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - 4) / 24))
    holiday = any(start <= minute < start + 1440 for start in HOLIDAYS)
    weekly = WEEKEND if day >= 5 or holiday else 1.0
    growth = 1 + 0.03 * minute / WEEK
    value = EDGES[edge] * daily * weekly * growth * noise
    if minute >= JUDGED:
        for incident in INCIDENTS:
            if incident.edge == edge:
                value *= incident.factor(minute - JUDGED)
    return value


def counter(edge: str, rng: random.Random) -> list[int]:
    total, values = 0.0, []
    for minute in range(WEEKS * WEEK):
        values.append(int(total))
        total += 60 * rate(edge, minute, max(0.0, rng.gauss(1.0, 0.1)))
    return values


def test_file(rules: Path) -> dict[str, Any]:
    rng = random.Random(20261204)
    labels = 'job="heartbeat-exporter", instance="exp:26003"'
    series = [
        {
            "series": f'heartbeat_traffic_records_total{{edge="{edge}", {labels}}}',
            "values": " ".join(map(str, counter(edge, rng))),
        }
        for edge in EDGES
    ]
    checks = [
        {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []}
        for minute in range(JUDGED, WEEKS * WEEK, CHECK_EVERY)
        for alert in ALERTS
    ]
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks}],
    }


FAILED = re.compile(r"alertname: (\w+), time: (\w+),.*?got:\[(.*?)\]", re.S)
EDGE = re.compile(r'edge="(\w+)"')


def fired(output: str) -> list[tuple[int, str, str]]:
    """(minute of the judged week, alert, edge) of every alert promtool found firing."""
    found = []
    for alertname, time, got in FAILED.findall(output):
        minute = _minutes(time) - JUDGED
        for edge in EDGE.findall(got):
            found.append((minute, alertname, edge))
    return sorted(set(found))


def _minutes(duration: str) -> int:
    units = {"w": WEEK, "d": 1440, "h": 60, "m": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([wdhm])", duration))


def judge(alerts: list[tuple[int, str, str]]) -> dict[str, Any]:
    """Each incident's first alert and its delay; every alert no incident explains is a false one."""
    explained, incidents = set(), []
    for incident in INCIDENTS:
        mine = [a for a in alerts if a[2] == incident.edge and incident.start <= a[0] <= incident.end + 20]
        explained.update(mine)
        first = min((a[0] for a in mine if a[1] == incident.alert), default=None)
        delay = None if first is None else first - incident.start
        incidents.append(
            {
                "edge": incident.edge,
                "kind": incident.kind,
                "expected": incident.alert,
                "detected_after_min": delay,
                "bound_min": incident.bound,
                "ok": (not mine)
                if incident.alert is None
                else (delay is not None and delay <= incident.bound),
            }
        )
    false = [a for a in alerts if a not in explained]
    expected = [i for i in incidents if i["expected"]]
    return {
        "incidents": incidents,
        "recall": sum(i["detected_after_min"] is not None for i in expected) / len(expected),
        "false_alerts": [{"minute": m, "alert": n, "edge": e} for m, n, e in false],
        "precision": (len(alerts) - len(false)) / len(alerts) if alerts else 1.0,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        # only the traffic group: the shipped file's other groups have no series here, and
        # evaluating them 50,400 times would triple promtool's time
        shipped = yaml.safe_load(RULES.read_text(encoding="utf-8"))
        rules = Path(folder) / "traffic.rules.yml"
        groups = [g for g in shipped["groups"] if g["name"] == "heartbeat.traffic"]
        rules.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
        path = Path(folder) / "weeks.test.yml"
        path.write_text(yaml.safe_dump(test_file(rules), width=2**31), encoding="utf-8")
        result = subprocess.run(
            ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=900
        )
    if "FAILED" not in result.stdout + result.stderr and result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return judge(fired(result.stdout + result.stderr))


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
