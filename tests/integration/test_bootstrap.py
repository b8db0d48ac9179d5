"""``bash scripts/run.sh`` on a server that already runs Redis and PostgreSQL leaves them running."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import redis

from harness.ports import free_port
from harness.servers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def service(name: str, action: str) -> None:
    subprocess.run(["service", name, action], check=True, capture_output=True, timeout=120)


def postgresql_runs() -> bool:
    found = subprocess.run(["service", "postgresql", "status"], capture_output=True, text=True, timeout=60)
    return found.returncode == 0


def path_without(tmp_path: Path, hidden: str) -> str:
    """This PATH, but with ``hidden`` missing from it (as on a machine where it is not installed)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            if entry.name != hidden and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return str(folder)


def test_run_leaves_the_users_redis_and_postgresql_running(tmp_path: Path) -> None:
    service("redis-server", "start")  # the user's own servers, as Debian runs them
    service("postgresql", "start")
    try:
        # redis-server looks missing, so the script wants to install it: it used to stop every
        # daemon it knows after any install, the user's included
        env = {**os.environ, "PATH": path_without(tmp_path, "redis-server")}
        prometheus, alertmanager = free_port(), free_port()
        listen = [
            "--receiver-listen",
            f"127.0.0.1:{free_port()}",
            "--exporter-listen",
            f"127.0.0.1:{free_port()}",
            f"--prometheus-listen=127.0.0.1:{prometheus}",
            f"--alertmanager-listen=127.0.0.1:{alertmanager}",
        ]
        process = subprocess.Popen(
            ["bash", "scripts/run.sh", "--data-dir", str(tmp_path / "data"), *listen],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops everything." in line:
                break
        # the alerting path comes with it (SPEC §18): its two URLs are printed
        text = "".join(lines)
        assert f"prometheus   http://127.0.0.1:{prometheus}/" in text, text
        assert f"alertmanager http://127.0.0.1:{alertmanager}/" in text, text
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, "".join(lines)
        assert redis.Redis(port=6379, socket_timeout=2).ping()
        wait_until(postgresql_runs, timeout=5)
    finally:
        service("redis-server", "stop")
        service("postgresql", "stop")
