"""What the alert-quality suites share: the outcome of a scenario, how pages are counted, the
bench that drives the real stack, and the report. ``alert_quality`` (the pages and pipeline
suites, and the command) and ``job_quality`` (the jobs suite) both build on it, so neither imports
the other.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.quality_stack import ROOT, FleetShape, Stack
from heartbeat_core.types import DEFAULT_TYPES

MONITOR = {
    "receiver": "HeartbeatIngestDown",
    "redis": "HeartbeatStoreDown",
    "exporter": "HeartbeatExporterDown",
}
TIMEOUT = {t.name: t.timeout for t in DEFAULT_TYPES}
CRITICAL = ("data_collection", "kafka", "redis", "backend")  # the types whose failures page


@dataclass
class Outcome:
    scenario: str
    pages: list[tuple[float, list[str]]]  # (when, firing alert names and services)
    expected: Counter[str] = field(default_factory=Counter)  # alert names that should page, how often
    delays: dict[str, tuple[float, float]] = field(default_factory=dict)  # crashed service -> (delay, bound)
    firing_missing: int = 0
    since: float | None = None  # when the fault it should page for began (the pipeline and jobs suites)
    bound: float | None = None  # how soon after ``since`` it should page, real seconds (jobs)
    on_call: list[str] = field(default_factory=list)  # alert/service delivered firing to on-call

    @property
    def unexpected(self) -> int:
        """Pages beyond those expected, plus expected ones that never came.

        A group's later notification that brings a service not yet paged for (its beat reached
        Alertmanager after the group's first notification) is news, not a repeat: it is not
        counted either way. One that repeats only what was already delivered is unexpected.
        """
        left = Counter(self.expected)
        extra = 0
        delivered: set[str] = set()
        for _, names in self.pages:
            name = names[0].split("/")[0]
            news = not delivered.issuperset(names)
            delivered.update(names)
            if left[name] > 0:
                left[name] -= 1
            elif not (news and name in self.expected):
                extra += 1
        return extra + sum(left.values())  # a page that should have come and did not counts too


class Bench:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.k = stack.scale

    def s(self, seconds: float) -> float:
        return seconds / self.k

    def wait(self, seconds: float) -> None:
        time.sleep(self.s(seconds))

    def scenario(self, name: str, action: Callable[[], Outcome | None], settle: float) -> Outcome:
        started, seen = time.time(), len(self.stack.recorder.posts)
        outcome = action() or Outcome(name, [])
        self.wait(settle)
        for when, path, body in self.stack.recorder.posts[seen:]:
            if body["status"] == "firing":
                firing = [a["labels"] for a in body["alerts"] if a["status"] == "firing"]
                names = [f"{a['alertname']}/{a.get('service_name', '')}" for a in firing]
                outcome.pages.append((when, names))
                if path.endswith("/on-call"):
                    outcome.on_call += [n for n in names if n not in outcome.on_call]
        outcome.scenario = name
        if name != "one crash per type":
            outcome.firing_missing = self.missing_fired(time.time() - started)
        print(f"{name}: {len(outcome.pages)} pages, {outcome.unexpected} unexpected", flush=True)
        return outcome

    def missing_fired(self, seconds: float) -> int:
        expr = (
            f'max_over_time(ALERTS{{alertname="HeartbeatMissing", alertstate="firing"}}[{int(seconds) + 1}s])'
        )
        return len(self.stack.prometheus.query(expr)["data"]["result"])

    def crashes(self) -> Outcome:
        fleet = self.stack.fleet
        victims = [next(a for a in fleet.agents.values() if a.service_type == t.name) for t in DEFAULT_TYPES]
        for agent in victims:
            agent.crashed = True
        outcome = Outcome("", [], Counter({"HeartbeatMissing": len(victims)}))
        deadline = time.time() + self.s(max(TIMEOUT.values()) + 150)
        pending = {a.name: a for a in victims}
        seen = len(self.stack.recorder.posts)
        while pending and time.time() < deadline:
            time.sleep(0.2)
            for when, _, body in self.stack.recorder.posts[seen:]:
                for alert in body["alerts"]:
                    crashed = pending.get(alert["labels"].get("service_name", ""))
                    if crashed is None or alert["status"] != "firing" or crashed.last_beat is None:
                        continue
                    del pending[crashed.name]
                    bound = TIMEOUT[crashed.service_type] + 30 + 15 + 15 + 30
                    outcome.delays[crashed.name] = ((when - crashed.last_beat) * self.k, bound)
            seen = len(self.stack.recorder.posts)
        for agent in victims:
            agent.crashed = False
        return outcome

    def jitter(self) -> None:
        fleet = self.stack.fleet
        fleet.jitter, fleet.loss = 0.2, 0.1
        self.wait(300)
        fleet.jitter, fleet.loss = self.stack.ordinary

    def outage(self, component: str, seconds: float) -> Outcome:
        if component == "redis":
            self.stack.redis.stop()
            self.wait(seconds)
            self.stack.redis.start()
        else:
            self.stack.kill(component)
            self.wait(seconds)
            self.stack.start(component)
        return Outcome("", [], Counter({MONITOR[component]: 1}))

    def goodbye(self) -> None:
        self.stack.fleet.goodbye(next(iter(self.stack.fleet.agents)))

    def maintenance(self) -> None:
        fleet, now = self.stack.fleet, time.time()
        self.stack.window("redis", now, now + self.s(180))
        self.wait(30)
        quiet = [a for a in fleet.agents.values() if a.service_type == "redis"]
        for agent in quiet:
            agent.crashed = True
        self.wait(180)  # the window ends 30 s before this
        for agent in quiet:
            agent.crashed = False

    def expect(self, **names: int) -> Outcome:
        return Outcome("", [], Counter(names))

    def stalled(self) -> Outcome:
        agent = self.stack.fleet.agents["backend-1"]
        agent.stalled = True
        since = agent.last_beat  # its counter last grew with this beat
        self.wait(300 + 60)  # stall_after, then time to page
        agent.stalled = False
        outcome = self.expect(HeartbeatStalled=1)
        outcome.since = since
        return outcome

    def kafka_down(self) -> Outcome:
        brokers = [a for a in self.stack.fleet.agents.values() if a.service_type == "kafka"]
        for agent in brokers:
            agent.crashed = True
        self.wait(TIMEOUT["kafka"] + 90 + 300 + 60)  # down, paged; then the backends' stall window
        for agent in brokers:
            agent.crashed = False
        return self.expect(HeartbeatServiceTypeDown=1)  # one incident, one page, naming kafka

    def reports(self) -> Outcome:
        """Five services say they are failing, five that they have a warning; all keep beating."""
        agents = [a for a in self.stack.fleet.agents.values() if not a.crashed]
        paging = [a for a in agents if a.service_type in CRITICAL]
        failing = [next(a for a in paging if a.service_type == t) for t in CRITICAL]
        failing += [next(a for a in paging if a not in failing)]
        warning = [a for a in agents if a.service_type not in CRITICAL][:5]
        for agent in failing:
            agent.sender.report("failing", "anomaly detector fired")
        for agent in warning:
            agent.sender.report("warning", "queue backlog above 10,000")
        # a beat, a scrape, an evaluation, group_wait, for:, then group_interval (5 min): a service
        # whose failing beat came after its group's first notification is in the group's next
        self.wait(30 + 15 + 15 + 30 + 30 + 30 + 300)
        for agent in failing + warning:
            agent.sender.report("ok")
        # notifications group by alert and type; warnings go to the team's chat, never on-call
        return self.expect(
            HeartbeatFailing=len({a.service_type for a in failing}),
            HeartbeatWarning=len({a.service_type for a in warning}),
        )

    def duplicate(self) -> Outcome:
        copy = self.stack.fleet.add("redis-1", "redis")
        self.wait(300 + 90)
        copy.crashed = True
        return self.expect(HeartbeatDuplicateInstance=1)

    def skew(self) -> Outcome:
        agent = self.stack.fleet.agents["redis-2"]
        agent.skew = 120.0
        self.wait(600 + 90)
        agent.skew = 0.0
        return self.expect(HeartbeatClockSkew=1)


Plan = list[tuple[str, Callable[[], Outcome | None], float]]  # (scenario, action, settle seconds)


def on_stack(
    scale: float,
    rules: str,
    alertmanager: str,
    plan: Callable[[Bench], Plan],
    jobs: dict[str, dict[str, Any]] | None = None,
    fleet: FleetShape | None = None,
) -> list[Outcome]:
    """Run a plan's scenarios in order on one fresh stack, and take the stack down afterwards."""
    stack = Stack(scale, rules, alertmanager, jobs=jobs, fleet=fleet)
    bench = Bench(stack)
    try:
        return [bench.scenario(name, action, settle) for name, action, settle in plan(bench)]
    finally:
        stack.close()


def report(outcomes: list[Outcome], scale: float) -> dict[str, Any]:
    crash = next((o for o in outcomes if o.scenario == "one crash per type"), Outcome("", []))
    return {
        "scale": scale,
        "recall": len(crash.delays) / crash.expected["HeartbeatMissing"] if crash.expected else None,
        "delays": {
            name: {"delay_s": round(d, 1), "bound_s": b} for name, (d, b) in sorted(crash.delays.items())
        },
        "scenarios": {
            o.scenario: {
                "pages": len(o.pages),
                "unexpected_pages": o.unexpected,
                "missing_alerts_firing_in_prometheus": o.firing_missing,
                "paged": [names for _, names in o.pages],
                "on_call": sorted(o.on_call),
                "first_page_after_s": round((o.pages[0][0] - o.since) * scale, 1)
                if o.pages and o.since
                else None,
                **({"bound_s": o.bound} if o.bound is not None else {}),
            }
            for o in outcomes
        },
    }


def at_revision(revision: str | None, path: str) -> str:
    if revision is None:
        return (ROOT / path).read_text(encoding="utf-8")
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
