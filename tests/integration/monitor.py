"""``heartbeat-monitor`` as a newcomer runs it: the console script, a bare PATH, free ports."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.ports import free_port
from harness.servers import wait_until
from tests.support import parse_samples

COMMAND = str(Path(sys.executable).with_name("heartbeat-monitor"))  # the console script, as installed
BARE_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass
class Monitor:
    process: subprocess.Popen[str]
    receiver: int
    exporter: int
    output: list[str]
    prometheus: int = 0
    alertmanager: int = 0

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.exporter}/metrics", timeout=5) as response:
            text = response.read().decode()
        return parse_samples(text)


def read_lines(monitor: Monitor, until: str, timeout: float = 30.0) -> None:
    assert monitor.process.stdout is not None
    lines = monitor.process.stdout

    def seen() -> bool:
        line = lines.readline()
        if line:
            monitor.output.append(line)
        return until in "".join(monitor.output) or monitor.process.poll() is not None

    wait_until(seen, timeout)


@contextlib.contextmanager
def launch(
    tmp_path: Path, *extra: str, demo: bool = True, alerting: bool = False, path: str = BARE_PATH
) -> Iterator[Monitor]:
    """``heartbeat-monitor --demo`` with a bare PATH, as on a fresh machine; killed afterwards.

    Alerting (Prometheus and Alertmanager) only when asked for, on free ports: tests run side by
    side, and the default ports are one machine's."""
    receiver, exporter = free_port(), free_port()
    prometheus, alertmanager = free_port(), free_port()
    chosen = [
        "--prometheus-listen",
        f"127.0.0.1:{prometheus}",
        "--alertmanager-listen",
        f"127.0.0.1:{alertmanager}",
    ]
    process = subprocess.Popen(
        [
            COMMAND,
            *(["--demo"] if demo else []),
            *(chosen if alerting else ["--no-alerting"]),
            "--data-dir",
            str(tmp_path / "data"),
            "--receiver-listen",
            f"127.0.0.1:{receiver}",
            "--exporter-listen",
            f"127.0.0.1:{exporter}",
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": path},
    )
    m = Monitor(process, receiver, exporter, [], prometheus, alertmanager)
    try:
        read_lines(m, "Ctrl-C stops everything.")
        assert process.poll() is None, "".join(m.output)
        yield m
    finally:
        if process.poll() is None:  # a stop that lets it end its Prometheus and Alertmanager too
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
