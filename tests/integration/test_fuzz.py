"""Property-based fuzzing of every JSON body both apps read: any input is a 2xx or a JSON 4xx.

Hypothesis draws any byte string, any JSON up to a depth limit (and nesting far past it), and
numbers at the float edges, including integer literals too large for a float. The example
budget is fixed and the run derandomized, so CI runs the same cases each time; a 500 or a
traceback anywhere fails the test with the input that caused it. schemathesis (test_api_fuzz)
covers the documented shapes; this covers what no schema describes.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.security import generate_password_hash

from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.fields import FIELDS, IDENTITY
from heartbeat_receiver.app import create_app as create_receiver

BUDGET = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

EDGE_NUMBERS = st.sampled_from(
    [
        0,
        -0.0,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        2**53 + 1,
        2**63,
        2**64,
        10**400,
        -(10**400),
        1e16,
        -1,
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | EDGE_NUMBERS
    | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
HEARTBEATS = st.fixed_dictionaries({}, optional={field.name: JSON for field in (*IDENTITY, *FIELDS)})
LOGINS = st.fixed_dictionaries({}, optional={"username": JSON, "password": JSON})
WINDOWS = st.fixed_dictionaries(
    {}, optional={key: JSON for key in ("start_time", "end_time", "history", "history_offset", "trend")}
)
MAINTENANCE = st.fixed_dictionaries(
    {}, optional={key: JSON for key in ("service", "type", "start_time", "end_time", "reason", "id")}
)
NESTED = st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth)


def bodies(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Raw bytes, deep nesting, any JSON, and objects shaped like the route's own."""
    encoded = (shape | JSON).map(lambda value: json.dumps(value, allow_nan=True).encode())
    return st.binary(max_size=300) | NESTED | encoded


def assert_answered(client: FlaskClient, path: str, body: bytes, headers: dict[str, str]) -> None:
    response = client.post(path, data=body, headers={"Content-Type": "application/json", **headers})
    assert response.status_code < 500, (path, body[:200], response.data[:300])
    if response.status_code >= 400:
        error = response.get_json(silent=True)
        assert isinstance(error, dict) and error.get("error") and error.get("message"), response.data


@pytest.fixture
def receiver(redis_server: RedisServer) -> Iterator[Flask]:
    yield create_receiver(from_mapping({"redis_url": redis_server.url, "max_services": 200}))


@pytest.fixture
def exporter(redis_server: RedisServer) -> tuple[Flask, str]:
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    app = create_exporter(
        from_mapping({"redis_url": redis_server.url, "users": users, "login_failures_per_minute": 10**6})
    )
    login = app.test_client().post("/auth/login", json={"username": "alice", "password": "alice-password"})
    return app, login.get_json()["access_token"]


@pytest.mark.parametrize("path", ["/heartbeat", "/heartbeat/report"])
def test_any_heartbeat_body_gets_an_answer_never_a_500(receiver: Flask, path: str) -> None:
    client = receiver.test_client()

    @BUDGET
    @given(body=bodies(HEARTBEATS))
    def run(body: bytes) -> None:
        assert_answered(client, path, body, {})

    run()


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/auth/login", LOGINS), ("/heartbeat/status", WINDOWS), ("/maintenance", MAINTENANCE)],
)
def test_any_exporter_body_gets_an_answer_never_a_500(
    exporter: tuple[Flask, str], path: str, shape: st.SearchStrategy[Any]
) -> None:
    app, token = exporter
    client = app.test_client()

    @BUDGET
    @given(body=bodies(shape))
    def run(body: bytes) -> None:
        assert_answered(client, path, body, {"Authorization": f"Bearer {token}"})

    run()


# what a client or a proxy may put in a header line: printable text, the characters that matter
# to addresses and URLs, a tab, and beyond ASCII (http.client sends it as Latin-1)
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(list("\t%[]:/@é")),
    max_size=60,
)


def raw_answer(
    port: int, method: str, path: str, body: bytes, headers: list[tuple[str, str]]
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_any_host_and_forwarded_for_lines_get_an_answer_never_a_500(redis_server: RedisServer) -> None:
    """Through the served apps, where the bridge reads Host and the receiver X-Forwarded-For
    (trusting one proxy): any value, any number of lines, is an answer, never a 500."""
    env = {"HEARTBEAT_REDIS_URL": redis_server.url, "HEARTBEAT_TRUSTED_PROXIES": "1"}
    with (
        served("heartbeat_receiver", "--workers", "1", env=env) as receiver,
        served("exporter", env=env) as exporter,
    ):

        @BUDGET
        @given(host=HEADER_TEXT, forwarded=st.lists(HEADER_TEXT, max_size=3), beat=st.booleans())
        def run(host: str, forwarded: list[str], beat: bool) -> None:
            headers = [("Host", host), ("Content-Type", "application/json")]
            headers += [("X-Forwarded-For", line) for line in forwarded]
            port, path, body = (
                (receiver, "/heartbeat", b'{"type": 4}') if beat else (exporter, "/maintenance", b"")
            )
            status, answer = raw_answer(port, "POST" if beat else "GET", path, body, headers)
            assert status < 500, (host, forwarded, answer[:200])
            if status >= 400:
                assert json.loads(answer)["error"], answer

        run()
