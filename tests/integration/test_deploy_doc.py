"""docs/deploy.md, followed line by line: a deployment without Docker ends with a page on a webhook.

Every ``bash`` block of the page runs, in order, as written, in a copy of the repository where
the host's paths (``/etc/heartbeat``, ``/etc/prometheus``, ``/etc/systemd/system``,
``/opt/heartbeat``) and ports (Redis, PostgreSQL, 26002, 26003, 9090, 9093, the webhook's host)
are swapped for a temporary folder and free loopback ports, in the page and in the files it
copies alike; ``sudo`` is dropped (``sudo -u postgres`` becomes the test's PostgreSQL superuser).
What the ``console`` blocks do (packages, a user, ``systemctl``) the test does itself: it starts
each unit's ``ExecStart`` with the unit's environment, as systemd would, and Prometheus and
Alertmanager as Debian's services would. Time is compressed (scrapes and evaluations every
second, ``group_wait`` 1 s), so the page arrives in seconds rather than a minute.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from harness.ports import free_port
from harness.redis import RedisServer
from harness.served import RecordingServer
from harness.servers import PostgresServer, psql, wait_http, wait_until

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
HAS_PASSWORD = "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'heartbeat_exporter'"
BLOCK = re.compile(r"^## (\d+)\..*?$|^```(bash|console)\n(.*?)^```$", re.M | re.S)


def blocks() -> list[tuple[int, str, str]]:
    """(section number, language, text) of each fenced block, in order."""
    found, section = [], 0
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        if match.group(1):
            section = int(match.group(1))
        else:
            found.append((section, match.group(2), match.group(3)))
    return found


class Host:
    """The swaps from the page's host to the test's, applied to the page and to what it copies."""

    def __init__(self, root: Path, redis: RedisServer, postgres: PostgresServer, webhook: int) -> None:
        self.root = root
        self.ports = {name: free_port() for name in ("26002", "26003", "9090", "9093")}
        self.swaps = {
            "sudo -u postgres ": "",
            "sudo ": "",
            "/opt/heartbeat/bin/": f"{Path(sys.executable).parent}/",
            "/etc/": f"{root}/etc/",
            "redis://127.0.0.1:6379/0": redis.url,
            "127.0.0.1:5432": f"127.0.0.1:{postgres.port}",
            "https://hooks.example.com": f"http://127.0.0.1:{webhook}",
            **{f"127.0.0.1:{port}": f"127.0.0.1:{new}" for port, new in self.ports.items()},
        }

    def swap(self, text: str) -> str:
        for old, new in self.swaps.items():
            text = text.replace(old, new)
        return text

    def clone(self) -> Path:
        """The repository's deploy/ and alerts/, swapped, with Prometheus' intervals compressed."""
        clone = self.root / "clone"
        for folder in ("deploy", "alerts"):
            shutil.copytree(ROOT / folder, clone / folder)
        for path in clone.rglob("*"):
            if path.is_file():
                text = self.swap(path.read_text(encoding="utf-8"))
                if path.name == "prometheus.yml":
                    text = text.replace("15s", "1s")
                path.write_text(text, encoding="utf-8")
        for folder in ("etc/systemd/system", "etc/prometheus"):
            (self.root / folder).mkdir(parents=True)
        return clone


def bash(sections: range) -> list[str]:
    return [text for number, language, text in blocks() if language == "bash" and number in sections]


def run(host: Host, clone: Path, texts: list[str], env: dict[str, str]) -> None:
    """Blocks of the page as one script: variables set in one block are there in the next."""
    script = "\n".join(host.swap(text) for text in texts)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{script}\n---\n{result.stdout}\n{result.stderr}"


def start_unit(stack: ExitStack, unit: Path, log: Path) -> None:
    """The unit's ExecStart with its Environment and EnvironmentFile, as systemd runs it."""
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read(unit)
    service = parsed["Service"]
    env = {"PATH": os.environ["PATH"]}
    env.update(line.split("=", 1) for line in [service["Environment"]])  # type: ignore[arg-type]
    for line in Path(service["EnvironmentFile"]).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    handle = stack.enter_context(log.open("wb"))
    process = subprocess.Popen(
        shlex.split(service["ExecStart"]), env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    stack.callback(process.wait, 20)
    stack.callback(process.terminate)


def start_daemon(stack: ExitStack, command: list[str], log: Path) -> None:
    handle = stack.enter_context(log.open("wb"))
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    stack.callback(process.wait, 20)
    stack.callback(process.terminate)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().init()  # a cluster of its own: the page creates a role and a database
    yield server
    server.close()


def test_the_deployment_page_ends_with_a_page_on_the_webhook(
    tmp_path: Path, redis_server: RedisServer, own_postgres: PostgresServer
) -> None:
    webhook = RecordingServer()
    host = Host(tmp_path, redis_server, own_postgres, webhook.server_port)
    clone = host.clone()
    env = {
        "PATH": f"{Path(psql()).parent}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(own_postgres.port),
        "PGUSER": "monitor",
        "HOME": str(tmp_path),
    }
    with ExitStack() as stack:
        stack.callback(webhook.shutdown)
        run(host, clone, bash(range(1, 5)), env)  # secrets, configuration, the role, the units
        role = subprocess.run(
            [psql(), "-tA", "-d", "pipeline", "-c", HAS_PASSWORD],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert role.stdout.strip() == "t"  # the role got its password
        for name in ("heartbeat-receiver", "heartbeat-exporter"):
            start_unit(stack, tmp_path / "etc/systemd/system" / f"{name}.service", tmp_path / f"{name}.log")
        wait_http(f"http://127.0.0.1:{host.ports['26002']}/healthz", timeout=30)
        wait_http(f"http://127.0.0.1:{host.ports['26003']}/healthz", timeout=30)

        run(host, clone, bash(range(5, 6)), env)  # Prometheus, the rules, Alertmanager's config
        alertmanager_yml = tmp_path / "etc/prometheus/alertmanager.yml"
        compressed = alertmanager_yml.read_text().replace("group_wait: 30s", "group_wait: 1s")
        alertmanager_yml.write_text(compressed.replace("group_interval: 5m", "group_interval: 5s"))
        alertmanager = (
            shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "alertmanager"
        )
        start_daemon(stack, [
            alertmanager, f"--config.file={alertmanager_yml}", f"--storage.path={tmp_path / 'am'}",
            f"--web.listen-address=127.0.0.1:{host.ports['9093']}", "--cluster.listen-address=",
        ], tmp_path / "alertmanager.log")  # fmt: skip
        prometheus_yml = tmp_path / "etc/prometheus/prometheus.yml"
        start_daemon(stack, [
            shutil.which("prometheus") or "prometheus", f"--config.file={prometheus_yml}",
            f"--storage.tsdb.path={tmp_path / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{host.ports['9090']}",
        ], tmp_path / "prometheus.log")  # fmt: skip

        check, goodbye = bash(range(6, 7))
        run(host, clone, [check], env)  # a service that says it is failing

        def pages(status: str = "firing") -> list[dict[str, str]]:
            return [
                alert["labels"]
                for _, path, body in webhook.posts
                if path == "/on-call" and body["status"] == status
                for alert in body["alerts"]
            ]

        try:
            wait_until(lambda: pages(), timeout=90, interval=0.5)
        except TimeoutError:
            logs = {p.name: p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*.log")}
            raise AssertionError(f"no page reached the webhook; logs: {logs}") from None
        (page,) = pages()
        assert (page["alertname"], page["service_name"]) == ("HeartbeatFailing", "kafka-deploy-check")
        run(host, clone, [goodbye], env)  # its goodbye: paused, and the page resolves
        wait_until(lambda: pages("resolved"), timeout=60, interval=0.5)
