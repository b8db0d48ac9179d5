"""The agent against the real receiver on a real Redis; schedule and backoff on an injected clock."""

from __future__ import annotations

import ast
import json
import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipapp
from pathlib import Path
from typing import Any

import pytest
import redis

from harness.ports import free_port
from harness.redis import RedisServer
from harness.served import RecordingServer
from harness.servers import wait_until
from heartbeat_agent import HeartbeatSender, backoff_delay, next_due
from heartbeat_agent import agent as agent_module
from heartbeat_core.config import from_mapping
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app
from tests.support import LiveServer


class FakeTime:
    """Monotonic clock and wait for the sender: waiting moves time, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def services(redis_server: RedisServer) -> dict[str, int]:
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    return {s.name: s.received for s in store.snapshot().services}


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/heartbeat"  # nothing listens there


# -- pure schedule and backoff --------------------------------------------------------------


def test_next_due_stays_on_the_grid() -> None:
    assert next_due(100.0, 30.0, 100.0) == 130.0
    assert next_due(100.0, 30.0, 129.9) == 130.0
    assert next_due(100.0, 30.0, 130.0) == 160.0
    assert next_due(100.0, 30.0, 250.0) == 280.0  # missed slots are skipped, not burst
    assert next_due(100.0, 30.0, 50.0) == 100.0


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    assert [backoff_delay(a, 1.0, 30.0, lambda: 1.0) for a in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(3, 1.0, 30.0, lambda: 0.25) == 2.0
    assert backoff_delay(3, 1.0, 30.0, lambda: 0.0) == 0.0


# -- the schedule on an injected clock, against the real receiver ------------------------------


def test_beats_are_pinned_to_the_schedule_even_when_requests_are_slow(
    live_receiver: LiveServer, redis_server: RedisServer
) -> None:
    fake = FakeTime()
    start = fake.now
    sent_at: list[float] = []
    cost = iter([0.0, 7.0, 0.0, 70.0, 0.0, 0.0])

    def payload() -> dict[str, Any]:
        sent_at.append(fake.now - start)
        fake.now += next(cost)  # a request that took this long
        return {"service": "backend-agent"}

    sender = HeartbeatSender(live_receiver.url("/heartbeat"), interval=30, payload=payload, clock=fake.clock)
    sender.run(fake.wait, count=5)
    # 7 s late once: the next beat is still at 60; 70 s stuck: slots 120 and 150 are skipped
    assert sent_at == [0.0, 30.0, 60.0, 90.0, 180.0]
    assert services(redis_server) == {"backend-agent": 5}
    assert sender.stats()["sent"] == 5 and sender.stats()["success_rate"] == 1.0


def test_retries_back_off_then_fail_over_and_remember_the_working_url(
    live_receiver: LiveServer, redis_server: RedisServer
) -> None:
    fake = FakeTime()
    down = dead_url()
    sender = HeartbeatSender(
        [down, live_receiver.url("/heartbeat")],
        interval=30,
        payload={"service": "kafka-agent"},
        clock=fake.clock,
        rand=lambda: 0.5,
    )
    sender.run(fake.wait, count=2)
    # first beat: the dead URL, then at once the second; the second beat goes straight to the URL
    # that worked
    assert fake.waits == [30.0]
    stats = sender.stats()
    assert stats["sent"] == 2 and stats["attempts"] == 3
    assert stats["url"] == live_receiver.url("/heartbeat")
    assert services(redis_server) == {"kafka-agent": 2}


def test_a_receiver_that_stays_down_counts_failed_beats() -> None:
    fake = FakeTime()
    sender = HeartbeatSender(
        dead_url(), interval=30, max_attempts=3, clock=fake.clock, rand=lambda: 0.5, timeout=2
    )
    sender.run(fake.wait, count=2)
    stats = sender.stats()
    assert (stats["sent"], stats["failed"], stats["consecutive_failures"]) == (0, 2, 2)
    assert stats["success_rate"] == 0.0 and "Connection" in stats["last_error"]
    # per beat: backoff 0.5 s, then 1 s, then give up until the next slot
    assert fake.waits[:2] == [0.5, 1.0]


def test_503_with_retry_after_is_honoured(own_redis: RedisServer) -> None:
    settings = from_mapping({"redis_url": own_redis.url})
    server = LiveServer(create_app(settings))
    own_redis.stop()  # the real receiver now answers 503 with Retry-After
    try:
        fake = FakeTime()
        sender = HeartbeatSender(
            server.url("/heartbeat"), interval=30, clock=fake.clock, rand=lambda: 0.1, max_attempts=2
        )
        assert sender.run(fake.wait, count=1) is None
        assert fake.waits[0] == 5.0  # the receiver's Retry-After, not the 0.1 s of jitter
        assert sender.stats()["last_error"].endswith("HTTP 503")
        own_redis.start()
        assert sender.send_once() is True
    finally:
        server.stop()


StatusServer = RecordingServer  # a plain HTTP server answering every POST with one status


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (400, 1)])
def test_non_2xx_answers_are_failures(status: int, attempts: int, caplog: pytest.LogCaptureFixture) -> None:
    server = StatusServer(status)
    try:
        fake = FakeTime()
        url = f"http://127.0.0.1:{server.server_address[1]}/heartbeat"
        sender = HeartbeatSender(url, interval=30, clock=fake.clock, rand=lambda: 0.1)
        with caplog.at_level(logging.WARNING, logger="heartbeat_agent"):
            assert sender.send_once() is False
        stats = sender.stats()
        assert stats["failed"] == 1 and stats["attempts"] == attempts  # a 400 is not retried
        assert f"HTTP {status}" in stats["last_error"]
        assert any(r.levelno == logging.WARNING for r in caplog.records)
    finally:
        server.shutdown()


def test_a_payload_that_raises_is_logged_as_error_and_never_reaches_the_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("user id lookup failed")

    sender = HeartbeatSender(dead_url(), payload=broken)
    with caplog.at_level(logging.ERROR, logger="heartbeat_agent"):
        assert sender.send_once() is False
    assert "user id lookup failed" in sender.stats()["last_error"]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


# -- real time, real threads -----------------------------------------------------------------


def test_a_receiver_that_is_down_then_comes_back(redis_server: RedisServer) -> None:
    port = free_port()
    sender = HeartbeatSender(
        f"http://127.0.0.1:{port}/heartbeat",
        interval=0.2,
        payload={"service": "redis-agent"},
        backoff_base=0.01,
        timeout=1,
    ).start()
    try:
        wait_until(lambda: sender.stats()["failed"] >= 2)
        assert sender.stats()["sent"] == 0
        server = LiveServer(create_app(from_mapping({"redis_url": redis_server.url})), port=port)
        try:
            wait_until(lambda: services(redis_server).get("redis-agent", 0) >= 2)
            # the store takes the beats a moment before the sender counts its success
            wait_until(lambda: sender.stats()["consecutive_failures"] == 0)
        finally:
            server.stop()
    finally:
        sender.stop()
    assert not sender.running


def test_stop_returns_promptly_during_a_hanging_request() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/heartbeat"
        sender = HeartbeatSender(url, interval=30, timeout=30).start()
        conn, _ = listener.accept()  # the request is now in flight
        began = time.monotonic()
        sender.stop()
        took = time.monotonic() - began
        conn.close()
        assert not sender.running, "the agent thread is still alive"
        assert took < 5, f"stop() took {took:.1f} s with a 30 s request timeout"
    finally:
        listener.close()


# -- command line, vendored module, zipapp ------------------------------------------------------


def run_cli(*args: str, cwd: Path | None = None, module: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "heartbeat_agent", *args] if module else [sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)


def test_cli_once_exit_status_for_cron(live_receiver: LiveServer, redis_server: RedisServer) -> None:
    ok = run_cli(
        "--once",
        "--url",
        live_receiver.url("/heartbeat"),
        "--service",
        "collector-cron",
        "--data",
        '{"user_id": 7}',
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["sent"] == 1
    assert services(redis_server) == {"collector-cron": 1}
    failed = run_cli("--once", "--url", dead_url(), "--timeout", "1")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["failed"] == 1
    bad = run_cli("--once", "--data", "[1]")
    assert bad.returncode == 2 and "JSON object" in bad.stderr


def test_cli_count_and_failover(live_receiver: LiveServer, redis_server: RedisServer) -> None:
    result = run_cli(
        "--url",
        dead_url(),
        "--url",
        live_receiver.url("/heartbeat"),
        "--count",
        "3",
        "--interval",
        "0.1",
        "--type",
        "4",
    )
    assert result.returncode == 0, result.stderr
    assert services(redis_server) == {"type-4@127.0.0.1": 3}


def test_the_agent_folder_alone_is_vendorable_and_a_zipapp(
    tmp_path: Path, live_receiver: LiveServer, redis_server: RedisServer
) -> None:
    """Copied under another package (a program's own vendor folder), imported from there, run
    with ``-m``, and packed as a zipapp; -I: isolated, so nothing of the project's installation
    can be imported."""
    folder = Path(agent_module.__file__).parent
    vendored = tmp_path / "vendor" / "myprogram" / "_vendor"
    shutil.copytree(folder, vendored / "heartbeat_agent", ignore=shutil.ignore_patterns("__pycache__"))
    (vendored.parent / "__init__.py").write_text("")
    (vendored / "__init__.py").write_text("")
    url = live_receiver.url("/heartbeat")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from myprogram._vendor.heartbeat_agent import HeartbeatSender; "
        "sys.exit(0 if HeartbeatSender(sys.argv[2], payload={'service': 'vendored'}).send_once() else 1)"
    )
    imported = run_cli("-I", "-c", code, str(tmp_path / "vendor"), url, module=False)
    assert imported.returncode == 0, imported.stderr
    script = run_cli(
        "-I", "-c", "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
        "runpy.run_module('heartbeat_agent', run_name='__main__')",
        str(vendored), "--once", "--url", url, "--service", "as-module", module=False,
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    packed_dir = tmp_path / "packed"
    shutil.copytree(folder, packed_dir / "heartbeat_agent", ignore=shutil.ignore_patterns("__pycache__"))
    archive = tmp_path / "heartbeat-agent.pyz"
    zipapp.create_archive(packed_dir, archive, main="heartbeat_agent.command:main")
    packed = run_cli("-I", str(archive), "--once", "--url", url, "--service", "zipped", module=False)
    assert packed.returncode == 0, packed.stderr
    assert services(redis_server) == {"vendored": 1, "as-module": 1, "zipped": 1}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_runs_until_ctrl_c_then_prints_its_statistics(
    live_receiver: LiveServer, redis_server: RedisServer, signum: int
) -> None:
    """Ctrl-C or SIGTERM, whatever the agent is doing: a goodbye and its statistics within 2 s
    (the goodbye included; the deadline here leaves a loaded machine some slack)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heartbeat_agent",
            "--url",
            live_receiver.url("/heartbeat"),
            "--interval",
            "0.1",
            "--service",
            "redis-cli-agent",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: services(redis_server).get("redis-cli-agent", 0) >= 3)
        process.send_signal(signum)
        out, err = process.communicate(timeout=4)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    stats = json.loads(out)
    assert stats["sent"] >= 3, stats
    meta = json.loads(
        redis.Redis.from_url(redis_server.url).hget("{heartbeat}:info", "redis-cli-agent") or "{}"
    )
    assert meta.get("status") == "stopping", meta  # the goodbye arrived: paused, not down


def test_beats_carry_interval_seq_instance_and_timestamp() -> None:
    server = StatusServer(200)
    sender = HeartbeatSender(
        f"http://127.0.0.1:{server.server_port}/heartbeat", interval=5, payload={"type": 4}
    )
    assert sender.send_once() and sender.send_once()
    first, second = server.bodies
    assert (first["seq"], second["seq"]) == (0, 1)
    assert first["instance"] == second["instance"] and len(first["instance"]) == 16
    assert first["interval"] == 5 and first["type"] == 4 and first["timestamp"] > 1.7e9
    assert HeartbeatSender(f"http://127.0.0.1:{server.server_port}/").instance != first["instance"]
    mine = HeartbeatSender(f"http://127.0.0.1:{server.server_port}/", payload={"seq": 77, "interval": 1})
    assert mine.send_once() and server.bodies[-1]["seq"] == 77  # the payload's own fields win
    server.shutdown()


def test_retries_of_one_beat_keep_its_sequence_number() -> None:
    server = StatusServer(500)
    url = f"http://127.0.0.1:{server.server_port}/heartbeat"
    sender = HeartbeatSender(url, interval=60, backoff_base=0.01, cache_size=0)
    assert not sender.send_once()
    assert [b["seq"] for b in server.bodies] == [0, 0, 0]
    assert not sender.send_once()
    assert server.bodies[-1]["seq"] == 1
    server.shutdown()


def test_stop_says_goodbye_and_the_service_is_paused(
    live_receiver: LiveServer, redis_server: RedisServer
) -> None:
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    quiet = HeartbeatSender(live_receiver.url("/heartbeat"), interval=60, payload={"service": "crashing"})
    polite = HeartbeatSender(live_receiver.url("/heartbeat"), interval=60, payload={"service": "leaving"})
    for sender in (quiet, polite):
        sender.start()
    wait_until(lambda: services(redis_server) == {"crashing": 1, "leaving": 1})
    quiet.stop(goodbye=False)
    polite.stop()
    records = {r.name: r for r in store.snapshot().services}
    assert records["leaving"].stopping and records["leaving"].received == 2
    assert not records["crashing"].stopping and records["crashing"].received == 1
    assert records["leaving"].interval == 60


def test_sigterm_stops_the_cli_with_a_goodbye(live_receiver: LiveServer, redis_server: RedisServer) -> None:
    """systemctl stop sends SIGTERM: a service stopped on purpose is paused, never a page."""
    store = make_store(from_mapping({"redis_url": redis_server.url}))
    flags = ["--url", live_receiver.url("/heartbeat"), "--service", "daemon-1", "--interval", "0.2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "heartbeat_agent", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: any(r.name == "daemon-1" for r in store.snapshot().services), timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
    (record,) = [r for r in store.snapshot().services if r.name == "daemon-1"]
    assert record.stopping


@pytest.mark.parametrize(
    "module", sorted(Path(agent_module.__file__).parent.glob("*.py")), ids=lambda path: path.name
)
def test_python_3_8_can_import_the_vendored_agent(module: Path) -> None:
    """The seed's client is a PyInstaller build, often of an old Python: nothing 3.10-only may run
    at import time (annotations are strings; the syntax is checked against 3.8's grammar)."""
    source = module.read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 8))
    evaluated = [
        node
        for statement in tree.body
        if not (isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING")
        and not isinstance(statement, (ast.FunctionDef, ast.ClassDef, ast.AnnAssign))
        for node in ast.walk(statement)
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)) or isinstance(node, ast.Subscript)
    ]
    assert not [ast.unparse(node) for node in evaluated]
    absolute = [  # relative imports only: the folder works under any package it is copied into
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("heartbeat")
    ]
    assert not absolute


def test_cli_goodbye(live_receiver: LiveServer, redis_server: RedisServer) -> None:
    result = run_cli("--url", live_receiver.url("/heartbeat"), "--service", "batch-7", "--goodbye")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"goodbye": True}
    (record,) = make_store(from_mapping({"redis_url": redis_server.url})).snapshot().services
    assert (record.name, record.stopping) == ("batch-7", True)
    assert run_cli("--url", dead_url(), "--service", "batch-7", "--goodbye").returncode == 1
