"""The status page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.security import generate_password_hash

from exporter.app import create_app as create_exporter
from exporter.schema import create_schema, table
from harness.servers import wait_until
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import DEFAULT_TABLES
from heartbeat_monitor.redis_server import RedisServer
from heartbeat_receiver.app import create_app as create_receiver
from tests.support import FakeClock, LiveServer

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def test_log_in_watch_a_service_go_down_and_traffic_appear(
    browser: Browser, redis_server: RedisServer, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings = from_mapping({"redis_url": redis_server.url, "database_url": sqlite_url, "users": users})
    engine = sa.create_engine(sqlite_url)
    create_schema(engine)
    receiver = create_receiver(settings, clock=clock)
    exporter_app = create_exporter(settings, clock=clock, start_worker=False)
    server = LiveServer(exporter_app)
    try:
        for body in (
            {"service": "kafka-1"},
            {"service": "前端-web-1"},
            {"service": "redis-1", "status": "stopping"},
        ):
            response = receiver.test_client().post(
                "/heartbeat", data=json.dumps(body), content_type="application/json"
            )
            assert response.status_code == 200
        exporter_app.extensions["exporter"].worker.cycle()

        page: Page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(server.url("/"))
        page.fill("#username", "alice")
        page.fill("#password", "wrong")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("wrong username or password")
        page.fill("#password", "alice-password")
        page.click("button[type=submit]")

        expect(page.locator("#login")).to_be_hidden()
        kafka = page.locator("section[data-type=kafka_process] tbody tr", has_text="kafka-1")
        expect(kafka.locator(".state")).to_have_text("UP")
        expect(page.locator("section[data-type=frontend] .service")).to_have_text("前端-web-1")
        expect(page.locator("#database")).to_contain_text("CONNECTED")

        redis = page.locator("section[data-type=redis] tbody tr", has_text="redis-1")
        expect(redis.locator(".state")).to_have_text("PAUSED")  # it said goodbye
        expect(redis.locator(".state")).to_have_class("state paused")

        clock.advance(91)  # kafka's heartbeats stop: past 3/4 of its 120 s timeout, it is late
        page.select_option("#window", "3600")  # refreshes now rather than in 5 s
        expect(kafka.locator(".state")).to_have_text("LATE")
        expect(kafka.locator(".state")).to_have_class("state late")
        clock.advance(30)  # past the timeout
        page.select_option("#window", "86400")
        expect(kafka.locator(".state")).to_have_text("DOWN")
        expect(kafka.locator(".state")).to_have_class("state down")
        expect(page.locator("#summary")).to_contain_text("1 paused")

        now = dt.datetime.now(dt.timezone.utc)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(table(DEFAULT_TABLES["access_logs"])),
                [{"server_addr": "10.0.1.2", "remote_addr": "10.0.2.9", "created_at": now}] * 3,
            )
        page.select_option("#window", "900")
        edge = page.locator("section[data-edge=backend_to_frontend] tbody tr")
        expect(edge).to_have_count(1)
        expect(edge.locator(".count")).to_have_text("3")
        page.screenshot(path=str(tmp_path / "status-page.png"), full_page=True)
        token = page.evaluate("sessionStorage.getItem('token')")
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        # the button revoked the token on the server, not only in the page

        def revoked() -> bool:
            status = exporter_app.test_client().post(
                "/heartbeat/status", headers={"Authorization": f"Bearer {token}"}
            )
            return status.status_code == 401 and status.get_json()["error"] == "token_revoked"

        wait_until(revoked, timeout=5)
        # the page ran whole under its Content-Security-Policy (no inline code refused)
        assert not [m for m in console if "Content Security Policy" in m], console
        page.close()
    finally:
        server.stop()
