"""The real stack the alert-quality benchmark runs, on loopback, optionally with time compressed.

redis-server (persistent, so an outage keeps the data as a real one would), the receiver and the
exporter as their own commands (so they can be stopped and started), Prometheus with the shipped
rules at the shipped scrape and evaluation intervals, Alertmanager with the shipped routes and
inhibitions whose receivers point at a local recorder, and a fleet of agents.

``scale`` divides every duration: the types' timeouts, the beat interval, the scrape and
evaluation intervals, the rules' ``for:``, Alertmanager's waits. 1 is real time.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from werkzeug.security import generate_password_hash

from harness.alertmanager import AlertmanagerServer
from harness.ports import free_port
from harness.redis import RedisServer
from harness.served import RecordingServer
from harness.servers import PrometheusServer, wait_http
from heartbeat_agent import HeartbeatSender
from heartbeat_core.schedule import next_due
from heartbeat_core.types import DEFAULT_TYPES

ROOT = Path(__file__).resolve().parents[1]
DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
PASSWORD = "benchmark-admin-password"  # noqa: S105 (a throwaway user of a loopback-only stack)


def scaled(value: str, scale: float) -> str:
    """A Prometheus/Alertmanager duration divided by ``scale``, in milliseconds."""
    match = DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value}")
    return f"{max(1, round(int(match.group(1)) * UNITS[match.group(2)] * 1000 / scale))}ms"


def scaled_rules(text: str, scale: float) -> dict[str, Any]:
    rules = yaml.safe_load(text)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = scaled(rule["for"], scale)
    return dict(rules)


def scaled_alertmanager(text: str, scale: float, webhook: str) -> dict[str, Any]:
    config = yaml.safe_load(text)

    def walk(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval", "repeat_interval"):
            if key in route:
                route[key] = scaled(route[key], scale)
        for child in route.get("routes", []):
            walk(child)

    walk(config["route"])
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{webhook}/{receiver['name']}"
    return dict(config)


@dataclass
class Agent:
    """One simulated service: the product's agent sends each beat; the schedule is the scenario's."""

    name: str
    service_type: str
    sender: HeartbeatSender
    crashed: bool = False
    last_beat: float | None = None
    skipped: bool = False
    records: int = 0  # its progress counter: grows with every beat while it has work
    stalled: bool = False  # alive, but moving no data
    skew: float = 0.0  # its host's clock, ahead by this much


@dataclass
class Fleet:
    url: str
    interval: float
    per_type: int
    jitter: float = 0.0  # ±share of the interval
    loss: float = 0.0  # chance to lose a beat (never two in a row)
    agents: dict[str, Agent] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        prefixes = {t.name: (t.prefixes[-1] if t.prefixes else "misc") for t in DEFAULT_TYPES}
        for service_type, prefix in prefixes.items():
            for i in range(self.per_type):
                self.add(f"{prefix}-{i}", service_type)

    def add(self, name: str, service_type: str) -> Agent:
        """One more agent; a name already in the fleet is a second copy of that service."""
        holder: list[Agent] = []
        sender = HeartbeatSender(
            self.url,
            interval=self.interval,
            timeout=self.interval / 3,
            payload={"service": name},
            progress=lambda: {"records_out": holder[0].records},
            wall_clock=lambda: time.time() + holder[0].skew,
        )
        agent = Agent(name, service_type, sender)
        holder.append(agent)
        key = name if name not in self.agents else f"{name}#copy"
        self.agents[key] = agent
        threading.Thread(target=self._run, args=(agent,), daemon=True).start()
        return agent

    def has_work(self, agent: Agent) -> bool:
        """Backends consume what Kafka delivers: with every broker down they move nothing."""
        if agent.stalled:
            return False
        if agent.service_type == "backend":
            return any(not a.crashed for a in self.agents.values() if a.service_type == "kafka")
        return True

    def _run(self, agent: Agent) -> None:
        self.stop.wait(self.rng.uniform(0, self.interval))  # agents start spread over one interval
        while not self.stop.is_set():
            if not agent.crashed:
                lose = self.loss and not agent.skipped and self.rng.random() < self.loss
                agent.skipped = bool(lose)
                if self.has_work(agent):
                    agent.records += 1
                if not lose and agent.sender.send_once():
                    agent.last_beat = time.time()
            delay = self.interval * (1 + self.rng.uniform(-self.jitter, self.jitter))
            self.stop.wait(delay)

    def goodbye(self, name: str) -> None:
        self.agents[name].crashed = True
        self.agents[name].sender.send_goodbye()


@dataclass
class Job:
    """One simulated job: at each due time of its schedule, a run through the agent's ``job()``.

    ``plan`` holds the next runs' faults, one per due time: ``skip`` (no run), ``hang`` (a start
    and no finish until ``release`` is set), ``fail`` (the run raises), ``fast`` (done at once).
    """

    name: str
    schedule: str
    runtime: float
    sender: HeartbeatSender
    plan: deque[str] = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    ended: list[float] = field(default_factory=list)  # when each run finished

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            due = next_due(self.schedule, "UTC", time.time())
            if stop.wait(max(0.0, due - time.time()) + 0.05):
                return
            fault = self.plan.popleft() if self.plan else ""
            if fault == "skip":
                continue
            try:
                with self.sender.job():
                    if fault == "hang":
                        self.release.clear()
                        self.release.wait()
                    else:
                        stop.wait(self.runtime / 100 if fault == "fast" else self.runtime)
                    if fault == "fail":
                        raise RuntimeError("export failed: input file missing")
            except RuntimeError:
                pass
            self.ended.append(time.time())


@dataclass(frozen=True)
class FleetShape:
    """How a run's fleet behaves and is judged: its seed, the jitter and loss it always has (the
    ordinary network a learned history comes from), and its types' ``detection`` mode."""

    seed: int = 7
    jitter: float = 0.0
    loss: float = 0.0
    detection: str = "fixed"


class Stack:
    def __init__(
        self,
        scale: float,
        rules: str,
        alertmanager: str,
        per_type: int = 10,
        jobs: dict[str, dict[str, Any]] | None = None,
        fleet: FleetShape | None = None,
    ) -> None:
        shape = fleet or FleetShape()
        self.scale = scale
        self.stack = ExitStack()
        self.folder = Path(tempfile.mkdtemp(prefix="alert-quality-"))
        self.stack.callback(shutil.rmtree, self.folder, True)
        self.redis = RedisServer(
            folder=self.folder / "redis", extra_args=("--appendonly", "yes", "--appendfsync", "always")
        )
        (self.folder / "redis").mkdir(exist_ok=True)
        self.redis.start()
        self.stack.callback(self.redis.close)
        self.config = self.folder / "heartbeat.yaml"
        # learned lateness (SPEC §17): its spread's floor is a duration, scaled like the rest
        detection = {"mode": shape.detection, "min_std_seconds": 2 / scale}
        learning = {"detection": detection} if shape.detection != "fixed" else {}
        types = {
            t.name: {
                "timeout": t.timeout / scale,
                "late_after": t.late_after / scale,
                "stall_after": t.stall_after / scale,
                **learning,
            }
            for t in DEFAULT_TYPES
        }
        users = {"admin": {"password_hash": generate_password_hash(PASSWORD), "role": "admin"}}
        settings = {
            "types": types,
            "receiver_ttl": max(1.0, 10 / scale),
            "users": users,
            "secret_key": "k" * 32,
            "jobs": jobs or {},
        }
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.env = {**os.environ, "HEARTBEAT_CONFIG": str(self.config), "HEARTBEAT_REDIS_URL": self.redis.url}
        self.ports = {"receiver": free_port(), "exporter": free_port()}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        for name in self.ports:
            self.start(name)
        self.recorder = RecordingServer()
        self.stack.callback(self.recorder.shutdown)
        self.alertmanager = AlertmanagerServer(
            scaled_alertmanager(alertmanager, scale, f"http://127.0.0.1:{self.recorder.server_port}/alerts")
        )
        self.stack.callback(self.alertmanager.close)
        rules_file = self.folder / "heartbeat.rules.yml"
        rules_file.write_text(yaml.safe_dump(scaled_rules(rules, scale)), encoding="utf-8")
        interval = scaled("15s", scale)
        self.prometheus = PrometheusServer(
            self.ports["exporter"], [str(rules_file)], interval, self.alertmanager.port
        )
        self.stack.callback(self.prometheus.close)
        self.fleet = Fleet(
            f"http://127.0.0.1:{self.ports['receiver']}/heartbeat",
            30 / scale,
            per_type,
            shape.jitter,
            shape.loss,
            rng=random.Random(shape.seed),
        )
        self.ordinary = (shape.jitter, shape.loss)
        self.stack.callback(self.fleet.stop.set)
        self.fleet.start()
        self.jobs: dict[str, Job] = {}

    def add_job(self, name: str, schedule: str, runtime: float) -> Job:
        url = f"http://127.0.0.1:{self.ports['receiver']}/heartbeat"
        sender = HeartbeatSender(url, timeout=self.fleet.interval / 3, payload={"service": name})
        job = self.jobs[name] = Job(name, schedule, runtime, sender)
        threading.Thread(target=job.run, args=(self.fleet.stop,), daemon=True).start()
        return job

    def start(self, name: str) -> None:
        module = {"receiver": "heartbeat_receiver", "exporter": "exporter"}[name]
        extra = ["--workers", "1"] if name == "receiver" else []
        command = [sys.executable, "-m", module, "--listen", f"127.0.0.1:{self.ports[name]}", *extra]
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115
        self.processes[name] = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=30)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        process.wait(20)

    def window(self, service_type: str, start: float, end: float) -> None:
        base = f"http://127.0.0.1:{self.ports['exporter']}"
        token = _post(f"{base}/auth/login", {"username": "admin", "password": PASSWORD})["access_token"]
        _post(f"{base}/maintenance", {"service_type": service_type, "start": start, "end": end}, token)

    def close(self) -> None:
        self.fleet.stop.set()
        for job in self.jobs.values():
            job.release.set()
        for name in list(self.processes):
            self.kill(name)
        self.stack.close()


def _post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))
