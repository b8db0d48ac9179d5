"""One server process: started with its log in its folder, polled until ready, stopped.

The one readiness check: the process must still run (else its log's tail says why), and its
probe must answer (an HTTP ``/-/ready`` for Prometheus and Alertmanager, a PING for Redis).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO


class ChildExited(RuntimeError):
    """The process ended while it was expected to serve; the message carries its log's tail."""


def wait_until(condition: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> None:
    """Poll ``condition()`` until it is true; TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met before the deadline")
        time.sleep(interval)


def http_ok(url: str) -> Callable[[], bool]:
    """A probe: ``url`` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
                return bool(response.status == 200)
        except OSError:
            return False

    return probe


class Child:
    def __init__(
        self,
        name: str,
        command: list[str],
        folder: Path,
        probe: Callable[[], bool],
        *,
        pid_file: bool = False,
    ) -> None:
        self.name = name
        self.command = command
        self.folder = folder
        self.probe = probe
        self.pid_file = folder / f"{name}.pid" if pid_file else None
        self.log_file = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Child:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.pid_file is not None:
            stop_leftover(self.pid_file, self.command[0])
        self._log = open(self.log_file, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=self._log, cwd=self.folder
        )
        if self.pid_file is not None:
            self.pid_file.write_text(str(self.process.pid), encoding="ascii")
        return self

    def log_tail(self, size: int = 2000) -> str:
        return self.log_file.read_text(errors="replace")[-size:].strip() if self.log_file.exists() else ""

    def ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise ChildExited(f"{self.name} exited ({code}): {self.log_tail()}")
        return self.probe()

    def wait_ready(self, timeout: float = 30.0) -> Child:
        """Ready, or stopped and TimeoutError/ChildExited: never a process left behind a failed start."""
        try:
            wait_until(self.ready, timeout=timeout, interval=0.05)
        except (TimeoutError, ChildExited):
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.pid_file is not None:
            with contextlib.suppress(OSError):
                self.pid_file.unlink()
        if self._log is not None:
            self._log.close()
            self._log = None


def stop_leftover(pid_file: Path, program: str) -> None:
    """End the process a killed parent left behind, if that PID still runs the same program."""
    try:
        pid = int(pid_file.read_text(encoding="ascii"))
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (OSError, ValueError):
        return
    if Path(command).name == Path(program).name:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)  # raises once it is gone
                time.sleep(0.1)
