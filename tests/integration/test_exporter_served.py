"""The production set-up: ``heartbeat-exporter`` (Granian, one process), spoken to over real HTTP."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from harness.served import served
from harness.servers import wait_until
from heartbeat_monitor.redis_server import RedisServer
from tests.support import parse_samples


@pytest.fixture
def exporter(redis_server: RedisServer, tmp_path: Path) -> Iterator[int]:
    env = {"HEARTBEAT_REDIS_URL": redis_server.url, "HEARTBEAT_POLL_INTERVAL": "0.5"}
    with served("exporter", "--database-url", f"sqlite:///{tmp_path / 'pipeline.db'}", env=env) as port:
        yield port


def scrape(port: int, timeout: float = 5.0) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
        return parse_samples(response.read().decode())


def test_the_served_exporter_gets_its_flags_in_the_worker(exporter: int) -> None:
    # --database-url reached the worker process: its probe of the SQLite file succeeds
    database_up = ("heartbeat_database_up", (("database", "pipeline"),))
    wait_until(lambda: scrape(exporter).get(database_up) == 1, timeout=15)
    assert scrape(exporter)[("heartbeat_store_up", ())] == 1


def test_clients_stalled_mid_headers_do_not_delay_a_scrape(exporter: int) -> None:
    with ExitStack() as stack:
        for _ in range(8):  # twice the exporter's 4 threads
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", exporter), timeout=5))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        # a scrape that a stalled client held up would hit its 1 s timeout (gunicorn gthread did)
        assert scrape(exporter, timeout=1.0)[("heartbeat_store_up", ())] == 1
