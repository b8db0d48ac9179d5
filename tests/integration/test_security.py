"""The exporter's security controls (SPEC §11), against real Redis and, where it matters, a real server."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from exporter.sql.demo_rows import insert_demo_rows
from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import token_hash
from tests.support import FakeClock

SECRET = "k" * 32
ALICE = generate_password_hash("alice-password")
BOB = generate_password_hash("bob-password")
IP = re.compile(rb"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def exporter(redis_server: RedisServer, clock: FakeClock | None = None, **config: Any) -> Flask:
    users = config.pop("users", {"alice": {"password_hash": ALICE, "role": "admin"}})
    settings = from_mapping({"redis_url": redis_server.url, "secret_key": SECRET, "users": users, **config})
    return create_exporter(settings, clock=clock or FakeClock())


def login(
    client: FlaskClient, user: str = "alice", password: str | None = None, address: str = "10.0.0.7"
) -> Any:
    return client.post(
        "/auth/login",
        json={"username": user, "password": password or f"{user}-password"},
        environ_base={"REMOTE_ADDR": address},
    )


def status(client: FlaskClient, token: str) -> Any:
    return client.post("/heartbeat/status", headers={"Authorization": f"Bearer {token}"})


def test_metrics_need_the_configured_bearer_token_or_basic_auth(redis_server: RedisServer) -> None:
    auth = {
        "bearer_token_hash": token_hash("scrape-token-0123456789"),
        "username": "prometheus",
        "password_hash": token_hash("scrape-password-0123456789"),
    }
    client = exporter(redis_server, metrics_auth=auth).test_client()

    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").get_json()["error"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/metrics", headers=basic("prometheus", "wrong")).status_code == 401
    assert client.get("/metrics", headers=basic("grafana", "scrape-password-0123456789")).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic !!!"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert ok.status_code == 200 and b"heartbeat_store_up" in ok.data
    assert (
        client.get("/metrics", headers=basic("prometheus", "scrape-password-0123456789")).status_code == 200
    )
    # without metrics_auth, /metrics stays open (the default, bound to 127.0.0.1)
    assert exporter(redis_server).test_client().get("/metrics").status_code == 200


@pytest.mark.parametrize("ip_labels", [True, False])
def test_traffic_ip_labels_false_leaves_no_ip_in_the_exposition(
    redis_server: RedisServer, tmp_path: Path, ip_labels: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'pipeline.db'}"
    engine = sa.create_engine(url)
    create_schema(engine)
    app = exporter(redis_server, database_url=url, traffic_ip_labels=ip_labels)
    app.exporter.worker.cycle()  # the first poll starts counting from here
    insert_demo_rows(engine, 50)
    app.exporter.worker.cycle()
    body = app.test_client().get("/metrics").data
    totals = [line for line in body.splitlines() if line.startswith(b"heartbeat_traffic_records_total{")]
    assert totals, body
    assert bool(IP.search(body)) is ip_labels
    if not ip_labels:  # one series per edge, and no rows lost by dropping the labels
        assert len(totals) == 5
        assert sum(float(line.rsplit(b" ", 1)[1]) for line in totals) == 50 * 5  # node_monitor rows twice


def test_failed_logins_are_limited_per_address_and_per_user(redis_server: RedisServer) -> None:
    clock = FakeClock()
    users = {"alice": {"password_hash": ALICE, "role": "admin"}, "bob": {"password_hash": BOB}}
    client = exporter(redis_server, clock, users=users, login_failures_per_minute=3).test_client()
    for _ in range(3):
        assert login(client, "alice", "guess", address="10.0.0.66").status_code == 401
    refused = login(client, "alice", address="10.0.0.66")  # the right password, too late
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_logins"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # the user is limited from every address, the address for every user…
    assert login(client, "alice", address="10.0.0.8").status_code == 429
    assert login(client, "bob", address="10.0.0.66").status_code == 429
    # …while others log in as before
    assert login(client, "bob", address="10.0.0.8").status_code == 200
    clock.advance(61)
    assert login(client, "alice", address="10.0.0.66").status_code == 200


def test_locking_out_tells_nothing_of_which_names_exist(redis_server: RedisServer) -> None:
    """Failures for a real user locked it from any address; for a name that is no user they never
    did: the 429 told an attacker which names exist. Now both lock alike."""
    clock = FakeClock()
    client = exporter(redis_server, clock, login_failures_per_minute=3).test_client()
    for name in ("alice", "nobody"):
        for n in range(3):  # a new address every time: the address's own limit never comes into it
            assert login(client, name, "guess", address=f"10.0.{len(name)}.{n}").status_code == 401
        assert login(client, name, "guess", address="10.0.9.9").status_code == 429, name


def test_tokens_stop_working_when_the_password_or_role_changes(redis_server: RedisServer) -> None:
    before = exporter(redis_server)
    token = login(before.test_client()).get_json()["access_token"]
    same = exporter(redis_server)  # a restart with the same configuration and key: the token lives
    assert status(same.test_client(), token).status_code == 200
    new_password = exporter(
        redis_server,
        users={"alice": {"password_hash": generate_password_hash("new-password"), "role": "admin"}},
    )
    answer = status(new_password.test_client(), token)
    assert answer.status_code == 401 and answer.get_json()["error"] == "token_revoked"
    demoted = exporter(redis_server, users={"alice": {"password_hash": ALICE, "role": "viewer"}})
    assert status(demoted.test_client(), token).get_json()["error"] == "token_revoked"


def test_logout_revokes_the_token_on_every_exporter(redis_server: RedisServer) -> None:
    one, two = exporter(redis_server).test_client(), exporter(redis_server).test_client()
    token = login(one).get_json()["access_token"]
    other = login(one).get_json()["access_token"]
    assert status(two, token).status_code == 200
    out = one.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 200 and out.get_json() == {"status": "logged_out"}
    for client in (one, two):
        answer = status(client, token)
        assert answer.status_code == 401 and answer.get_json()["error"] == "token_revoked"
    assert status(two, other).status_code == 200  # only that one token
    assert one.post("/auth/logout").status_code == 401


def test_a_store_that_loses_its_data_forgets_no_logout(redis_server: RedisServer) -> None:
    """Logouts were a deny-list in Redis: a flushed Redis made logged-out tokens work again.
    Now a token works while its session is in the store: losing the data logs everyone out."""
    client = exporter(redis_server).test_client()
    out, kept = (login(client).get_json()["access_token"] for _ in range(2))
    assert client.post("/auth/logout", headers={"Authorization": f"Bearer {out}"}).status_code == 200
    redis.Redis.from_url(redis_server.url).flushall()
    for token in (out, kept):
        answer = status(client, token)
        assert answer.status_code == 401 and answer.get_json()["error"] == "token_revoked"
    assert status(client, login(client).get_json()["access_token"]).status_code == 200  # log in again


def test_tokens_are_signed_with_hmac_sha256(redis_server: RedisServer) -> None:
    token = login(exporter(redis_server).test_client()).get_json()["access_token"]
    sha256 = URLSafeTimedSerializer(
        SECRET, salt="heartbeat-status", signer_kwargs={"digest_method": hashlib.sha256}
    )
    assert sha256.loads(token)["u"] == "alice"
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer(SECRET, salt="heartbeat-status").loads(token)  # itsdangerous' SHA-1 default


def test_html_answers_carry_the_security_headers(redis_server: RedisServer) -> None:
    client = exporter(redis_server).test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert b"<script>" not in page.data and b"<style>" not in page.data  # the policy allows no inline code


def test_a_viewer_sees_the_kind_of_database_failure_not_the_drivers_text(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'secret-name.db'}"
    users = {"alice": {"password_hash": ALICE, "role": "admin"}, "bob": {"password_hash": BOB}}
    app = exporter(redis_server, database_url=url, users=users)
    app.exporter.worker.cycle()
    client = app.test_client()

    def database(user: str) -> dict[str, Any]:
        token = login(client, user).get_json()["access_token"]
        return dict(status(client, token).get_json()["service_status"]["database"])

    admin, viewer = database("alice"), database("bob")
    assert admin["is_connected"] is False and "unable to open database file" in admin["error_message"]
    assert re.fullmatch(r"the database probe failed \(\w+\)", viewer["error_message"]), viewer


def redis_snapshots(redis_server: RedisServer) -> int:
    stats = redis.Redis.from_url(redis_server.url).info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))


def test_scrapes_and_status_calls_close_together_share_one_read_of_the_store(
    redis_server: RedisServer,
) -> None:
    clock = FakeClock()
    client = exporter(redis_server, clock).test_client()
    token = login(client).get_json()["access_token"]
    before = redis_snapshots(redis_server)
    for _ in range(5):
        assert client.get("/metrics").status_code == 200
        assert status(client, token).status_code == 200
    assert redis_snapshots(redis_server) - before == 1
    clock.advance(1.5)
    assert client.get("/metrics").status_code == 200
    assert redis_snapshots(redis_server) - before == 2


def test_a_login_flood_does_not_starve_scrapes(redis_server: RedisServer) -> None:
    env = {
        "HEARTBEAT_REDIS_URL": redis_server.url,
        "HEARTBEAT_USERS": f'{{"alice": {{"password_hash": "{ALICE}"}}}}',
    }
    with served("exporter", "--threads", "4", env=env) as port:
        stop = time.monotonic() + 3
        answers: list[int] = []

        def flood() -> None:
            while time.monotonic() < stop:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/auth/login",
                    data=b'{"username": "alice", "password": "alice-password"}',
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        answers.append(response.status)
                except urllib.error.HTTPError as exc:
                    answers.append(exc.code)

        clients = [threading.Thread(target=flood) for _ in range(6)]
        for thread in clients:
            thread.start()
        scrapes = 0
        while time.monotonic() < stop:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1.0) as response:
                scrapes += response.status == 200
        for thread in clients:
            thread.join()
    assert scrapes >= 3
    assert 200 in answers and 429 in answers  # some logins went through, the excess was turned away


def test_a_login_must_be_json_so_no_web_page_can_post_one_cross_site(redis_server: RedisServer) -> None:
    """A form or fetch in text/plain needs no CORS preflight: it could try passwords from any page."""
    client = exporter(redis_server).test_client()
    body = '{"username": "alice", "password": "alice-password"}'
    for kind in ("text/plain", "application/x-www-form-urlencoded", None):
        answer = client.post("/auth/login", data=body, content_type=kind)
        assert answer.status_code == 415 and "access_token" not in answer.get_data(as_text=True)
    assert client.post("/auth/login", data=body, content_type="application/json").status_code == 200
