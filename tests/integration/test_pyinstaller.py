"""The user's programs ship as PyInstaller executables (seed 003): one that embeds the agent works.

A small program embedding ``HeartbeatSender`` is built into a one-file executable with
PyInstaller from PyPI, run against a live receiver, and exits; the beats carry ``seq``,
``instance``, ``interval`` and the ``system=True`` figures, and its goodbye on exit leaves the
service paused, not down.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_core.status import State, assess
from heartbeat_core.store import make_store
from tests.support import LiveServer

PROGRAM = """
import sys
import time

from heartbeat_agent import HeartbeatSender

sender = HeartbeatSender(
    sys.argv[1], interval=0.2, payload={"service": "packaged-app", "type": 4}, system=True, version="1.0"
)
sender.start()
time.sleep(1.5)
sender.stop()  # says goodbye
print(sender.stats()["sent"])
"""


def test_a_one_file_executable_beats_and_says_goodbye(
    tmp_path: Path, live_receiver: LiveServer, redis_server: RedisServer
) -> None:
    source = tmp_path / "packaged_app.py"
    source.write_text(PROGRAM, encoding="utf-8")
    build = subprocess.run(
        [
            sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "WARN",
            "--name", "packaged-app", "--distpath", str(tmp_path / "dist"),
            "--workpath", str(tmp_path / "build"), "--specpath", str(tmp_path), str(source),
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    executable = tmp_path / "dist" / "packaged-app"
    run = subprocess.run(
        [str(executable), live_receiver.url("/heartbeat")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    sent = int(run.stdout.strip())
    settings = from_mapping({"redis_url": redis_server.url})
    (record,) = make_store(settings).snapshot().services
    assert record.name == "packaged-app" and record.received == sent + 1 >= 4  # the beats, then the goodbye
    # system=True works frozen too: every figure Linux offers, from the standard library alone
    metrics = record.reported["metrics"]
    assert set(metrics) == {
        "process_cpu_ratio", "process_memory_bytes", "system_memory_used_ratio", "disk_free_ratio", "load1",
        "uptime_seconds",
    }  # fmt: skip
    assert record.reported["info"]["version"] == "1.0" and metrics["process_memory_bytes"] > 1e6
    # beats 0 … sent-1, then the goodbye with a number of its own (a late beat cannot undo it)
    assert record.seq == sent and record.instance and len(record.instance) == 16
    assert record.interval == 0.2 and record.stopping
    later = record.last_seen + 3600
    assert assess(record, settings.service_types, later).state is State.PAUSED
