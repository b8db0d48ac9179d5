"""The status page in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.security import generate_password_hash

from exporter.sql.schema import create_schema, table
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from harness.servers import wait_until
from heartbeat_core.config import from_mapping
from heartbeat_core.sections import DEFAULT_TABLES
from heartbeat_receiver.app import create_app as create_receiver
from tests.integration.monitor import launch
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
    exporter_app = create_exporter(settings, clock=clock)
    server = LiveServer(exporter_app)
    try:
        for body in (
            {"service": "kafka-1"},
            {"service": "前端-web-1"},
            {"service": "redis-1", "status": "stopping"},
            {
                "service": "backend-9",
                "status": "warning",
                "message": EVIL,
                "metrics": {"queue_length": 42},
                "info": {"version": "2.4.1"},
            },
            {"service": "__proto__"},  # names that are an object's own keys broke the page for everyone
            {"service": "constructor"},
        ):
            response = receiver.test_client().post(
                "/heartbeat", data=json.dumps(body), content_type="application/json"
            )
            assert response.status_code == 200
        exporter_app.exporter.worker.cycle()

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
        for odd in ("__proto__", "constructor"):
            expect(page.locator(f'.timeline[data-service="{odd}"] rect')).to_have_count(1)
        # what a service says of itself is shown as text, never run as HTML (SPEC §12)
        says = page.locator("section[data-type=backend] tbody tr", has_text="backend-9").locator(".says")
        expect(says.locator(".reported")).to_have_text("WARNING")
        expect(says.locator(".message")).to_have_text(EVIL)
        expect(says.locator("img")).to_have_count(0)
        says.locator("summary").click()
        expect(says.locator(".fact")).to_have_text(["queue_length = 42", "version: 2.4.1"])
        assert page.title() != "pwned"

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


EVIL = "<img src=x onerror=\"document.title='pwned'\"> queue stuck"
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
CJK_FONTS = (
    "Noto Sans CJK",
    "Source Han Sans",
    "PingFang",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "WenQuanYi",
)


def log_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#username", user)
    page.fill("#password", f"{user}-password")
    page.click("button[type=submit]")
    expect(page.locator("#login")).to_be_hidden()


def test_the_pipeline_picture_timelines_live_updates_and_what_a_viewer_sees(
    browser: Browser, redis_server: RedisServer, sqlite_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(time.time() - 600)  # the page's window ends at the browser's own now
    users = {
        "alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"},
        "bob": {"password_hash": generate_password_hash("bob-password"), "role": "viewer"},
    }
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "database_url": sqlite_url,
            "users": users,
            "redis_key_prefix": "page",
        }
    )
    engine = sa.create_engine(sqlite_url)
    create_schema(engine)
    receiver = create_receiver(settings, clock=clock)
    exporter_app = create_exporter(settings, clock=clock)
    worker = exporter_app.exporter.worker
    server = LiveServer(exporter_app)
    try:
        for name in ("kafka-1", "数据采集-1", "backend-1", "redis-1", "前端-web-1"):
            fields = {"watermark": clock.now - 300} if name == "backend-1" else {}  # 5 min behind
            beat = receiver.test_client().post(
                "/heartbeat", json={"service": name, "timestamp": clock.now, **fields}
            )
            assert beat.status_code == 200
        worker.cycle()
        with engine.begin() as conn:
            conn.execute(
                sa.insert(table(DEFAULT_TABLES["access_logs"])),
                [{"server_addr": "10.0.1.2", "remote_addr": "10.0.2.9"}] * 3,
            )
        worker.cycle()

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, server.url("/"), "alice")
        kafka_node = page.locator("#pipeline g[data-node=kafka]")
        expect(kafka_node).to_have_attribute("data-state", "up")
        expect(page.locator("#pipeline g[data-node=backend]")).to_contain_text("lag 5 min")  # its watermark
        expect(page.locator("#live")).to_have_text("● live")
        page.evaluate("window.stillTheSamePage = true")

        clock.advance(91)  # kafka: late after 90 s (3/4 of its 120 s timeout)
        expect(kafka_node).to_have_attribute("data-state", "late", timeout=2000)  # by SSE, no reload
        clock.advance(30)  # past the timeout: down
        changed = time.monotonic()
        expect(kafka_node).to_have_attribute("data-state", "down", timeout=2000)
        assert time.monotonic() - changed < 2
        assert page.evaluate("window.stillTheSamePage") is True
        stroke = kafka_node.locator("rect").evaluate("r => getComputedStyle(r).stroke")
        assert stroke == "rgb(207, 34, 46)"  # the down colour
        timeline = page.locator(".timeline[data-service=kafka-1] rect")
        expect(timeline.and_(page.locator("[data-state=down]"))).to_have_count(1)
        expect(timeline.and_(page.locator("[data-state=late]"))).to_have_count(1)
        expect(page.locator("#pipeline g[data-node=database]")).to_have_attribute("data-state", "up")
        expect(page.locator("#trends figure[data-trend=database]")).to_be_visible()
        assert IPV4.search(page.content())  # the admin sees addresses and traffic

        # the Chinese name is drawn with a CJK font the page names, not as boxes
        cell = page.locator("section[data-type=data_collection] .service", has_text="数据采集-1")
        expect(cell).to_be_visible()
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send(
            "DOM.querySelector", {"nodeId": root, "selector": "section[data-type=data_collection] .service"}
        )
        fonts = [
            f["familyName"]
            for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        ]
        assert any(name in family for family in fonts for name in CJK_FONTS), fonts

        clock.now = (
            time.time() + 5
        )  # the exporter's clock catches up with the browser's, which sets the start
        form = page.locator("#maintenance-form")  # an admin plans a window from the page
        form.locator("input[name=service_prefix]").fill("kafka-")
        form.locator("input[name=reason]").fill("broker upgrade")
        form.locator("button[type=submit]").click()
        expect(page.locator("#maintenance tbody tr", has_text="broker upgrade")).to_have_count(1)
        expect(kafka_node).to_have_attribute("data-state", "paused", timeout=2000)  # in maintenance
        page.close()

        viewer = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(viewer, server.url("/"), "bob")
        expect(viewer.locator("#pipeline g[data-node=kafka]")).to_have_attribute("data-state", "paused")
        expect(viewer.locator("#maintenance")).to_be_hidden()  # windows are for admins
        expect(viewer.locator(".timeline[data-service=kafka-1]")).to_be_visible()
        html = viewer.content()
        assert not IPV4.search(html), IPV4.search(html)
        expect(viewer.locator("#traffic section")).to_have_count(0)
        viewer.close()
    finally:
        server.stop()
        receiver.presence.stop()


def test_a_jobs_runs_as_bars_its_reason_and_its_next_run(
    browser: Browser, redis_server: RedisServer, tmp_path: Path
) -> None:
    """A job (SPEC §13): its last runs drawn under its timeline, coloured by outcome; down with
    the reason (overrun) in its state; when its next run is due."""
    clock = FakeClock(time.time() - 600)
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "users": users,
            "redis_key_prefix": "jobs-page",
            "jobs": {"backend-export": {"schedule": "0 3 * * *", "max_runtime": 60}},
        }
    )
    receiver = create_receiver(settings, clock=clock)
    server = LiveServer(create_exporter(settings, clock=clock))
    try:
        client = receiver.test_client()
        for event, seconds, fields in (
            ("start", 30, {}),
            ("finish", 60, {}),
            ("start", 10, {}),
            ("finish", 30, {"exit_status": 1}),
            ("start", 61, {}),  # and never finishes: overrun
        ):
            beat = client.post("/heartbeat", json={"service": "backend-export", "event": event, **fields})
            assert beat.status_code == 200
            clock.advance(seconds)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, server.url("/"), "alice")
        row = page.locator(".timeline[data-service=backend-export]")
        expect(row.locator(".runs rect")).to_have_count(3)
        outcomes = [r.get_attribute("data-outcome") for r in row.locator(".runs rect").all()]
        assert outcomes == ["success", "fail", "running"]
        fill = row.locator(".runs rect[data-outcome=fail]").evaluate("r => getComputedStyle(r).fill")
        assert fill == "rgb(188, 76, 0)"  # the failing colour
        state = page.locator("section[data-type=backend] tr", has_text="backend-export").locator(".state")
        expect(state).to_contain_text("DOWN · overrun")
        expect(state.locator(".next-due")).to_contain_text("next run in")
        # judged by its schedule, not a timeout: the page says which
        rules = page.locator("section[data-type=backend] tr", has_text="backend-export").locator(".schedule")
        expect(rules).to_have_text("0 3 * * * (UTC)")
        assert rules.get_attribute("title") == "grace 60 s, max runtime 60 s"
        page.close()
    finally:
        server.stop()
        receiver.presence.stop()


def test_a_region_is_a_label_of_the_info_a_key_of_the_status_answer_and_a_page_column(
    browser: Browser, redis_server: RedisServer
) -> None:
    """``region`` was added to the field table alone: it shows wherever the table says."""
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings = from_mapping({"redis_url": redis_server.url, "users": users, "redis_key_prefix": "region"})
    receiver = create_receiver(settings)
    exporter_app = create_exporter(settings)
    server = LiveServer(exporter_app)
    try:
        client = receiver.test_client()
        sent = {"service": "kafka-1", "region": "eu-west-1", "info": {"os": "linux"}}
        assert client.post("/heartbeat", json=sent).status_code == 200
        assert client.post("/heartbeat", json={"service": "kafka-2"}).status_code == 200
        refused = client.post("/heartbeat", json={"service": "kafka-3", "info": {"region": "x"}})
        assert refused.status_code == 400 and "info" in refused.get_json()["message"]  # it is ours now

        metrics = exporter_app.test_client().get("/metrics").get_data(as_text=True)
        info = [line for line in metrics.splitlines() if line.startswith("heartbeat_info{")]
        assert len(info) == 1 and 'region="eu-west-1"' in info[0] and 'os="linux"' in info[0]

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, server.url("/"), "alice")
        answer = page.evaluate(
            """async () => (await fetch("/heartbeat/status", {method: "POST",
                 headers: {"Authorization": "Bearer " + sessionStorage.getItem("token")}})).json()"""
        )
        entries = {e["service"]: e for e in answer["service_status"]["kafka_process"]}
        assert (entries["kafka-1"]["region"], entries["kafka-2"]["region"]) == ("eu-west-1", None)
        assert {"key": "region", "title": "Region"} in answer["columns"]
        section = page.locator("section[data-type=kafka_process]")
        expect(section.locator("th", has_text="Region")).to_have_count(1)
        expect(section.locator("tr", has_text="kafka-1").locator(".field-region")).to_have_text("eu-west-1")
        served = exporter_app.test_client().get("/openapi.json").get_json()
        region = served["components"]["schemas"]["ServiceEntry"]["properties"]["region"]
        assert region["maxLength"] == 64 and region["nullable"] is True
        page.close()
    finally:
        server.stop()
        receiver.presence.stop()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots_of_the_demo(browser: Browser, tmp_path: Path) -> None:
    """``heartbeat-monitor --demo`` as a newcomer sees it, its real Prometheus and Alertmanager
    included; the README shows these files and states when the demo's alert fires."""
    started = time.monotonic()
    with launch(tmp_path, alerting=True) as monitor:
        password = re.search(r"login\s+admin / (\S+)", "".join(monitor.output))
        assert password, monitor.output
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{monitor.exporter}/")
        page.fill("#username", "admin")
        page.fill("#password", password.group(1))
        page.click("button[type=submit]")
        expect(page.locator("#live")).to_have_text("● live")
        page.select_option("#window", "900")
        # frontend-web-2 falls silent after 45 s: late 45 s later, down 15 s after that
        silent = page.locator(".timeline[data-service=frontend-web-2] rect[data-state=down]")
        expect(silent).to_have_count(1, timeout=150_000)
        expect(page.locator("#pipeline g[data-node=frontend]")).to_have_attribute("data-state", "down")
        bars = page.locator("#trends figure[data-trend=backend_to_frontend] rect.bar")
        expect(bars.first).to_be_visible(timeout=90_000)  # the rollup holds a whole minute
        # the README: "HeartbeatMissing for frontend-web-2 shows under Alerts firing within 3 minutes"
        firing = page.locator("#alerts-list tr", has_text="frontend-web-2")
        left = max(1.0, 180 - (time.monotonic() - started))
        expect(firing).to_contain_text("HeartbeatMissing", timeout=left * 1000)
        expect(page.locator("#alerting-path")).to_contain_text("Alerting path works")
        # the Watchdog is not listed: the line above says what it means
        assert page.locator("#alerts-list tr", has_text="HeartbeatWatchdog").count() == 0
        expect(page.locator("#test-notification")).to_be_visible()  # admins may send a test page
        SCREENSHOTS.mkdir(exist_ok=True)
        page.locator("#alerts").screenshot(path=str(SCREENSHOTS / "alerts.png"))
        for view in ("pipeline", "timelines", "trends"):
            page.locator(f"#{view}").screenshot(path=str(SCREENSHOTS / f"{view}.png"))
        page.screenshot(path=str(SCREENSHOTS / "page.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"http://127.0.0.1:{monitor.exporter}/")
        token = page.evaluate("sessionStorage.getItem('token')")
        phone.evaluate(f"sessionStorage.setItem('token', {json.dumps(token)})")
        phone.reload()
        expect(phone.locator("#pipeline g[data-node=frontend]")).to_have_attribute("data-state", "down")
        phone.screenshot(path=str(SCREENSHOTS / "phone.png"))
        for view in ("alerts", "pipeline", "timelines", "trends", "page", "phone"):
            assert (SCREENSHOTS / f"{view}.png").stat().st_size > 5000
        page.close()
        phone.close()
