"""Alert quality: every real outage pages fast, and nothing else pages. Measured on the real stack.

    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality              # real time, ~45 min
    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --scale 12   # compressed, ~4 min
    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --rules-from 6c49fae  # rules of a commit
    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --suite jobs   # jobs, ~40 min (job_quality)
    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --scale 12 --learned --detection adaptive

``--learned``: the fleet always beats with ±20 % jitter and one beat in ten lost (the ordinary
network a learned history comes from), and the warm-up lasts 25 beats, so that every service has
learned its gaps (``detection.min_samples``, 20) before the first crash. ``--detection``: every
type's ``detection`` mode (SPEC §17); compare runs of the same ``--seed`` and ``--learned``.

Scenarios, in order, each followed by enough time for late pages to show: warm-up; one crash per
type; ±20 % jitter with one beat in ten lost (never two in a row); the receiver stopped 90 s; Redis
stopped 90 s; the exporter stopped 60 s; a goodbye; a maintenance window over a type that stops
sending during it and resumes 30 s after it ends; five services reporting failing and five reporting
a warning while all keep beating. A *page* is a firing notification that Alertmanager delivers (to
any receiver; ``on_call`` lists the alerts delivered to the on-call receiver). Reported: recall,
each crash's detection delay (last beat to notification) against its bound (timeout + one beat
interval + one scrape + one evaluation + group_wait), unexpected pages per scenario, and how many
HeartbeatMissing alerts reached ``firing`` in Prometheus outside the crash scenario.
"""

from __future__ import annotations

import argparse
import json
import logging

from benchmarks.job_quality import run_jobs
from benchmarks.quality_bench import Bench, Outcome, Plan, at_revision, on_stack, report
from benchmarks.quality_stack import FleetShape


def pipeline_plan(bench: Bench) -> Plan:
    """A stalled consumer, every Kafka broker down, a second copy, a wrong clock."""
    return [
        ("warm-up", lambda: None, 150),
        ("one consumer alive but stalled", bench.stalled, 60),
        ("every Kafka broker killed", bench.kafka_down, 120),
        ("a second copy of a service", bench.duplicate, 90),
        ("one agent's clock 2 minutes ahead", bench.skew, 30),
    ]


def pages_plan(bench: Bench, warm_up: float = 150) -> Plan:
    return [
        ("warm-up", lambda: None, warm_up),
        ("one crash per type", bench.crashes, 90),
        ("jitter ±20 % and one beat in ten lost", bench.jitter, 30),
        ("receiver stopped 90 s", lambda: bench.outage("receiver", 90), 150),
        ("Redis stopped 90 s", lambda: bench.outage("redis", 90), 150),
        ("exporter stopped 60 s", lambda: bench.outage("exporter", 60), 150),
        ("a goodbye", bench.goodbye, 150),
        ("maintenance window, resumed 30 s after it", bench.maintenance, 150),
        ("5 report failing, 5 a warning", bench.reports, 60),
    ]


def run(scale: float, rules: str, alertmanager: str, fleet: FleetShape | None = None) -> list[Outcome]:
    learned = fleet is not None and fleet.jitter > 0
    warm_up = 25 * 30 if learned else 150  # 25 beats: every service has learned 20 gaps and more
    return on_stack(scale, rules, alertmanager, lambda bench: pages_plan(bench, warm_up), fleet=fleet)


def run_pipeline(scale: float, rules: str, alertmanager: str) -> list[Outcome]:
    return on_stack(scale, rules, alertmanager, pipeline_plan)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="divide every duration by this (1: real time)"
    )
    parser.add_argument("--rules-from", help="a git revision whose alerts/ to use (default: the work tree)")
    parser.add_argument(
        "--alertmanager-from",
        help="a git revision whose alerts/alertmanager.yml to use (default: as --rules-from)",
    )
    parser.add_argument("--suite", choices=["pages", "pipeline", "jobs"], default="pages")
    parser.add_argument("--detection", choices=["fixed", "shadow", "adaptive"], default="fixed")
    parser.add_argument("--learned", action="store_true", help="jitter and loss throughout, a long warm-up")
    parser.add_argument("--seed", type=int, default=7, help="the fleet's jitter and loss")
    args = parser.parse_args()
    logging.getLogger("heartbeat_agent").setLevel(logging.CRITICAL)  # outages make every agent warn
    rules = at_revision(args.rules_from, "alerts/heartbeat.rules.yml")
    alertmanager = at_revision(args.alertmanager_from or args.rules_from, "alerts/alertmanager.yml")
    jitter, loss = (0.2, 0.1) if args.learned else (0.0, 0.0)
    fleet = FleetShape(args.seed, jitter, loss, args.detection)
    if args.suite == "pages":
        outcomes = run(args.scale, rules, alertmanager, fleet)
    else:
        outcomes = {"pipeline": run_pipeline, "jobs": run_jobs}[args.suite](args.scale, rules, alertmanager)
    summary = {"seed": args.seed, "detection": args.detection, "learned": args.learned}
    print(json.dumps({**summary, **report(outcomes, args.scale)}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
