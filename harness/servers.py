"""Real servers for tests and benchmarks, on loopback ports in temporary folders.

PostgreSQL (Debian's binaries) and Prometheus; Redis and a Redis Cluster are in ``harness.redis``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopback.child import Child, http_ok
from loopback.child import wait_until as wait_until
from loopback.ports import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} was not found: apt-get install postgresql")
    return found[-1]


def psql() -> str:
    """The psql client of the PostgreSQL the harness runs."""
    return _bin("psql")


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; as root, the server runs as the postgres user."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="heartbeat-pg-"))
        self.data = self.folder / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}\n{result.stderr}")

    def init(self) -> PostgresServer:
        self._run(
            _bin("initdb"), "-D", str(self.data), "-U", "monitor", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        return self.start()

    def start(self) -> PostgresServer:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://monitor@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_http(url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers, or TimeoutError at the deadline."""
    wait_until(http_ok(url), timeout=timeout, interval=0.1)


class PrometheusServer:
    """Debian's prometheus binary on a loopback port, scraping what the test gives it."""

    def __init__(
        self,
        scrape_port: int,
        rule_files: list[str],
        interval: str = "1s",
        alertmanager_port: int | None = None,
        scrape_self: bool = False,
        flags: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="heartbeat-prom-"))
        config: dict[str, Any] = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": rule_files,
            "scrape_configs": [
                {
                    "job_name": "heartbeat-exporter",
                    "static_configs": [{"targets": [f"127.0.0.1:{scrape_port}"]}],
                }
            ],
        }
        if scrape_self:  # the watchman's alerts read Prometheus' own metrics
            own = {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}]}
            config["scrape_configs"].append(own)
        if alertmanager_port is not None:
            targets = [f"127.0.0.1:{alertmanager_port}"]
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": targets}]}]}
        import yaml

        (self.folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        command = [
            binary,
            f"--config.file={self.folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            *flags,
        ]
        ready = http_ok(f"http://127.0.0.1:{self.port}/-/ready")
        self.child = Child("prometheus", command, self.folder, ready).start().wait_ready(30)

    def query(self, expr: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return dict(json.load(r))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def close(self) -> None:
        self.child.stop(20)
        shutil.rmtree(self.folder, ignore_errors=True)
