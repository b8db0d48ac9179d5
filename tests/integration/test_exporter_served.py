"""The production set-up: ``heartbeat-exporter`` (Granian, one process), spoken to over real HTTP."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from exporter.sql.schema import create_schema
from harness.redis import RedisServer
from harness.served import served
from harness.servers import PostgresServer, wait_until
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


def test_slow_clients_delay_no_scrape_and_are_cut_off(redis_server: RedisServer, tmp_path: Path) -> None:
    env = {"HEARTBEAT_REDIS_URL": redis_server.url, "HEARTBEAT_CLIENT_TIMEOUT": "1"}
    with served("exporter", "--threads", "4", env=env) as port, ExitStack() as stack:
        stalled = []
        for _ in range(4 * 2):  # twice the exporter's threads, of each kind
            headers = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=15))
            headers.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # the headers never end
            body = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=15))
            body.sendall(
                b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 4000\r\n\r\n{"username": "a'  # the rest never comes
            )
            stalled += [headers, body]
        # a scrape that a stalled client held up would hit its 1 s timeout (gunicorn gthread did)
        assert scrape(port, timeout=1.0)[("heartbeat_store_up", ())] == 1
        for sock in stalled:  # past client_timeout, each has an answer or a closed connection
            answer = sock.recv(4096)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


LONG_LABEL, LONG_NAME = b"a" * 64 + b".example", b"a." * 127 + b"com"  # IDNA refuses both


@pytest.mark.parametrize(
    "host", [b"[::1", b"evil.example/admin", b"a b", b"example.com:80:80", LONG_LABEL, LONG_NAME]
)
@pytest.mark.parametrize("path", [b"/maintenance", b"/metrics"])
def test_a_malformed_host_is_a_400_never_a_500(exporter: int, host: bytes, path: bytes) -> None:
    answer = raw(exporter, b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b'"invalid_host"' in body
    assert b"content-security-policy" in head.lower() and host not in body


def test_the_bridges_own_answers_carry_the_security_headers(exporter: int) -> None:
    answer = raw(
        exporter,
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\nConnection: close\r\n\r\n",
    )
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 413")
    for name in (b"content-security-policy", b"x-content-type-options", b"referrer-policy"):
        assert name in head


def test_scrapes_answer_while_every_request_thread_waits_on_a_stuck_database(
    redis_server: RedisServer, postgres: PostgresServer
) -> None:
    """Status calls whose SQL waits on a lock hold all four request threads; /metrics has its own."""
    url = postgres.create_database("stuck")
    engine = sa.create_engine(url)
    create_schema(engine)
    env = {
        "HEARTBEAT_REDIS_URL": redis_server.url,
        "HEARTBEAT_PROBE_TIMEOUT": "20",  # the status calls' queries wait that long on the lock
        "HEARTBEAT_USERS__ALICE__PASSWORD_HASH": generate_password_hash("alice-password"),
        "HEARTBEAT_USERS__ALICE__ROLE": "admin",
    }
    with (
        served("exporter", "--database-url", url, "--threads", "4", env=env) as port,
        engine.connect() as lock,
    ):
        base = f"http://127.0.0.1:{port}"
        token = post_json(f"{base}/auth/login", {"username": "alice", "password": "alice-password"})[
            "access_token"
        ]
        lock.execute(sa.text("LOCK TABLE access_logs IN ACCESS EXCLUSIVE MODE"))  # held until rollback
        now = time.time()
        window = {"start_time": now - 90.5, "end_time": now - 0.5, "history": True}
        with ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(post_json, f"{base}/heartbeat/status", window, token, 60) for _ in range(8)]
            time.sleep(1)  # the calls are in, their queries waiting on the lock
            assert not any(call.done() for call in calls)
            for _ in range(5):  # each scrape answers: none waits for a request thread
                assert scrape(port, timeout=2.0)[("heartbeat_store_up", ())] == 1
            lock.rollback()
            answers = [call.result() for call in calls]
        assert all("service_status" in answer or answer.get("error") for answer in answers)


def post_json(url: str, body: object, token: str | None = None, timeout: float = 10) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))
