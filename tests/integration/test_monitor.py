"""``heartbeat-monitor --demo``: the README's run command, as a newcomer would use it."""

from __future__ import annotations

import ctypes
import json
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from harness.ports import free_port
from harness.servers import wait_until
from heartbeat_core.sections import DEFAULT_TABLES
from tests.integration.monitor import COMMAND, Monitor, launch


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Monitor]:
    with launch(tmp_path) as m:
        yield m


def test_demo_shows_live_services_and_traffic_then_stops_cleanly(monitor: Monitor) -> None:
    text = "".join(monitor.output)
    password = re.search(r"login\s+admin / (\S+)", text)
    assert password, text
    redis_port = int(re.search(r"redis\s+redis://:\*\*\*@127.0.0.1:(\d+)", text).group(1))  # type: ignore[union-attr]
    with pytest.raises(redis.AuthenticationError):  # the private Redis has a password
        redis.Redis(port=redis_port, socket_timeout=2).set("written", "by anyone")

    def live() -> bool:
        m = monitor.metrics()
        up = m.get(("heartbeat_up", (("service_name", "kafka-broker-1"), ("service_type", "kafka"))))
        traffic = sum(v for (n, _), v in m.items() if n == "heartbeat_traffic_records_total")
        return up == 1 and traffic > 0

    wait_until(live, timeout=40, interval=0.5)
    base = f"http://127.0.0.1:{monitor.exporter}"
    login = urllib.request.Request(
        f"{base}/auth/login",
        method="POST",
        data=json.dumps({"username": "admin", "password": password.group(1)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=5) as response:
        token = json.load(response)["access_token"]
    status = urllib.request.Request(
        f"{base}/heartbeat/status",
        method="POST",
        data=b"{}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(status, timeout=5) as response:
        body = json.load(response)
    assert len(body["service_status"]["kafka_process"]) == 1
    assert body["service_status"]["database"]["is_connected"] is True

    monitor.process.send_signal(signal.SIGTERM)
    assert monitor.process.wait(20) == 0
    with pytest.raises(OSError):  # the private Redis went with it
        socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()


def signal_thread(pid: int, tid: int, signum: int) -> None:
    """tgkill(2): ``signum`` delivered to one thread of ``pid``, as the kernel may deliver Ctrl-C."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


def test_ctrl_c_stops_it_whichever_thread_the_kernel_hands_it_to(monitor: Monitor) -> None:
    # a signal sent to a process lands on any of its threads (Granian's, the agents', ...); one
    # that landed off the main thread used to leave it waiting forever, one run in five
    pid = monitor.process.pid
    others = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir() if int(t.name) != pid]
    assert others, "the monitor runs its servers on threads"
    signal_thread(pid, others[-1], signal.SIGINT)
    assert monitor.process.wait(20) == 0


def test_demo_writes_its_traffic_to_the_configured_tables(tmp_path: Path) -> None:
    config = tmp_path / "custom.yaml"
    renamed = {name: f"custom_{name}" for name in DEFAULT_TABLES}
    config.write_text("tables:\n" + "".join(f"  {n}: {{table: {t}}}\n" for n, t in renamed.items()))
    with launch(tmp_path, "--config", str(config)) as monitor:

        def counted() -> bool:
            m = monitor.metrics()
            edges = {
                dict(labels)["edge"] for (n, labels), v in m.items() if n == "heartbeat_traffic_records_total"
            }
            return len(edges) == 5

        wait_until(counted, timeout=40, interval=0.5)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'pipeline.db'}")
        tables = set(sa.inspect(engine).get_table_names())
        assert tables == set(renamed.values())  # no table under a default name was created or filled
        with engine.connect() as conn:
            for name in renamed.values():
                assert conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one() > 0  # noqa: S608


def test_a_taken_port_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        listen = ["--receiver-listen", f"127.0.0.1:{port}", "--exporter-listen", f"127.0.0.1:{free_port()}"]
        result = subprocess.run(
            [COMMAND, "--data-dir", str(tmp_path / "data"), *listen],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first == f"cannot start: 127.0.0.1:{port} is not free: Address already in use"


def test_the_seeds_status_script_runs_with_only_its_port_changed(tmp_path: Path) -> None:
    """The user's own script (seed 000) and agent (seed 003), as written, against the all-in-one."""
    config = tmp_path / "old-server.yaml"
    config.write_text("type_codes: {4: backend}\n")  # what the old server called type 4
    with launch(tmp_path, "--config", str(config), "--admin-password", "admin123") as monitor:
        assert "login        admin / (the password given)" in "".join(monitor.output)
        beat = urllib.request.Request(
            f"http://127.0.0.1:{monitor.receiver}/heartbeat",
            data=b'{"type": 4}',
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(beat, timeout=5).close()
        base = f"http://127.0.0.1:{monitor.exporter}"  # the seed's http://localhost:8000

        def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
            headers = {
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {token}"} if token else {}),
            }
            request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)

        token = post("/auth/login", {"username": "admin", "password": "admin123"})["access_token"]
        now = int(time.time())
        status = post("/heartbeat/status", {"start_time": now - 86400, "end_time": now}, token)
        assert "type-4@127.0.0.1" in [s["service"] for s in status["service_status"]["backend"]]
        assert set(status["traffic_status"]) >= {"data_collection_to_kafka", "backend_to_frontend"}
