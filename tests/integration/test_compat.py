"""healthchecks.io's and Uptime Kuma's clients, unchanged (SPEC §12): their documented command
lines, run as written by a real shell with the real curl and wget, only the host swapped, against
``heartbeat-receiver`` itself; what they did is read from the exporter's /metrics."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

from exporter.web.app import create_app as create_exporter
from exporter.web.host import current
from harness.redis import RedisServer
from harness.served import served
from heartbeat_core.config import from_mapping
from heartbeat_core.fields import MESSAGE
from heartbeat_core.sections import token_hash
from heartbeat_core.store import make_store
from tests.support import parse_samples

PING_KEY = "hc-ping-key-0123456789"  # an ingest token bound to cron- names
PUSH_TOKEN = "JSHs372KL8"  # Kuma's push tokens are short; only their hash is configured
CONFIG = {
    "ingest_tokens": [{"token_hash": token_hash(PING_KEY), "prefixes": ["cron-"]}],
    "push_tokens": {token_hash(PUSH_TOKEN): "kuma-backup"},
}


@pytest.fixture
def monitor(redis_server: RedisServer) -> Iterator[tuple[str, Flask]]:
    """(the receiver's base URL, an exporter on the same store)."""
    env = {
        "HEARTBEAT_REDIS_URL": redis_server.url,
        **{f"HEARTBEAT_{k.upper()}": json.dumps(v) for k, v in CONFIG.items()},
    }
    with ExitStack() as stack:
        port = stack.enter_context(served("heartbeat_receiver", "--workers", "1", env=env))
        settings = from_mapping({"redis_url": redis_server.url, "snapshot_cache_seconds": 0})
        yield f"http://127.0.0.1:{port}", create_exporter(settings)


def shell(script: str, base: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A documented line with hc-ping.com (or the Kuma host) swapped for the receiver."""
    return subprocess.run(
        ["bash", "-c", script.replace("https://hc-ping.com", f"{base}/ping/{PING_KEY}").replace("KUMA", base)],  # noqa: E501
        capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip


def samples(exporter: Flask, name: str) -> dict[str, float]:
    """The service's series on /metrics: ``state=…`` for its one state, and its plain metrics."""
    text = exporter.test_client().get("/metrics").get_data(as_text=True)
    found: dict[str, float] = {}
    for (metric, labels), value in parse_samples(text).items():
        label = dict(labels)
        if label.get("service_name") != name:
            continue
        if metric == "heartbeat_state":
            if value == 1:
                found[f"state={label['state']}"] = value
        elif len(label) == 2 and metric != "heartbeat_age_seconds":  # plain, and not moving with time
            found[metric] = value
    return found


def said(exporter: Flask, name: str) -> str | None:
    """The service's message, as the exporter reads it from the store."""
    with exporter.app_context():
        settings = current().settings
    for record in make_store(settings).snapshot().services:
        if record.name == name:
            return MESSAGE.of(record)
    return None


def test_healthchecks_documented_cron_lines_work_with_the_host_swapped(
    monitor: tuple[str, Flask], tmp_path: Path
) -> None:
    base, exporter = monitor
    # https://healthchecks.io/docs/bash/: the silent version
    run = shell("curl -fsS -m 10 --retry 5 -o /dev/null https://hc-ping.com/cron-backup", base)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
    assert samples(exporter, "cron-backup")["state=up"] == 1
    # https://healthchecks.io/docs/signaling_failures/: a command's exit status appended
    run = shell("/usr/bin/false\ncurl --retry 3 https://hc-ping.com/cron-backup/$?", base)
    assert run.stdout == "OK"
    assert samples(exporter, "cron-backup")["state=failing"] == 1
    assert said(exporter, "cron-backup") == "exit status 1"
    # https://healthchecks.io/docs/attaching_logs/: the output as the body, the status in the URL
    script = "m=$(sh -c 'echo renewing; echo certificate expired >&2; exit 3' 2>&1)\n"
    script += 'curl -fsS -m 10 --retry 5 --data-raw "$m" https://hc-ping.com/cron-backup/$?'
    assert shell(script, base).stdout == "OK"
    assert said(exporter, "cron-backup") == "renewing\ncertificate expired"
    (tmp_path / "renew.log").write_text("all renewed\n")
    script = "true > /dev/null 2>&1\ncurl -fsS -m 10 --retry 5 --data-binary @renew.log https://hc-ping.com/cron-backup/$?"
    assert shell(script, base, cwd=tmp_path).stdout == "OK"
    assert samples(exporter, "cron-backup")["state=up"] == 1
    assert said(exporter, "cron-backup") == "all renewed"
    # the /fail suffix, then wget's documented form for a success
    assert shell("curl --retry 3 https://hc-ping.com/cron-backup/fail", base).stdout == "OK"
    assert samples(exporter, "cron-backup")["state=failing"] == 1
    run = shell("wget https://hc-ping.com/cron-backup -T 10 -t 5 -O /dev/null", base)
    assert run.returncode == 0, run.stderr
    assert samples(exporter, "cron-backup")["state=up"] == 1
    received = samples(exporter, "cron-backup")["heartbeat_received_total"]
    assert received == 6


def test_a_log_ping_changes_the_message_and_nothing_else(monitor: tuple[str, Flask]) -> None:
    base, exporter = monitor
    assert (
        shell("curl -fsS -m 10 --retry 5 -o /dev/null https://hc-ping.com/cron-export", base).returncode == 0
    )
    before = samples(exporter, "cron-export")
    run = shell(
        'curl -fsS -m 10 --retry 5 --data-raw "rotated 3 files" https://hc-ping.com/cron-export/log', base
    )
    assert run.stdout == "OK"
    assert said(exporter, "cron-export") == "rotated 3 files"
    assert samples(exporter, "cron-export") == before  # no heartbeat: same state, count and last-seen
    # HEAD, as `curl -I` sends it, is a ping too
    assert shell("curl -fsS -I -o /dev/null https://hc-ping.com/cron-export", base).returncode == 0
    assert samples(exporter, "cron-export")["heartbeat_received_total"] == 2


def test_pings_are_refused_as_the_ingest_route_refuses(monitor: tuple[str, Flask]) -> None:
    base, exporter = monitor
    write = "-o /dev/null -w '%{http_code}'"
    assert shell(f"curl -s {write} {base}/ping/wrong-key-0123456789/cron-x", base).stdout == "401"
    assert shell(f"curl -s {write} https://hc-ping.com/backend-1", base).stdout == "403"  # outside cron-
    assert shell(f"curl -s {write} https://hc-ping.com/cron-x/256", base).stdout == "404"
    assert shell(f"curl -s {write} https://hc-ping.com/cron-never/log", base).stdout == "404"
    big = f"curl -s {write} --data-binary @- https://hc-ping.com/cron-x < <(head -c 10001 /dev/zero)"
    assert shell(big, base).stdout == "413"
    body = json.loads(shell("curl -s https://hc-ping.com/backend-1", base).stdout)
    assert body["error"] == "forbidden_name"
    assert not [name for name in ("cron-x", "backend-1", "cron-never") if samples(exporter, name)]


def test_uptime_kuma_push_lines_work_with_the_host_swapped(monitor: tuple[str, Flask]) -> None:
    base, exporter = monitor
    # the push URL as Kuma's monitor page shows it, called as its bash example does
    run = shell('curl -s -o /dev/null "KUMA/api/push/JSHs372KL8?status=up&msg=OK&ping="', base)
    assert run.returncode == 0
    assert samples(exporter, "kuma-backup")["state=up"] == 1
    assert said(exporter, "kuma-backup") == "OK"
    script = 'curl --get --data-urlencode "status=down" --data-urlencode "msg=disk full" '
    script += '"KUMA/api/push/JSHs372KL8"'
    assert json.loads(shell(script, base).stdout) == {"ok": True}
    assert samples(exporter, "kuma-backup")["state=failing"] == 1
    assert said(exporter, "kuma-backup") == "disk full"
    run = shell('wget -q -O - "KUMA/api/push/JSHs372KL8?status=up&msg=OK&ping=12"', base)
    assert json.loads(run.stdout) == {"ok": True}
    assert samples(exporter, "kuma-backup")["heartbeat_rtt_seconds"] == 0.012
    unknown = shell('curl -s -w " %{http_code}" "KUMA/api/push/not-a-token?status=up"', base).stdout
    assert unknown == '{"msg":"Monitor not found or not active.","ok":false}\n 404'


def test_a_web_page_cannot_ping_what_a_cron_line_can(monitor: tuple[str, Flask]) -> None:
    """``<img src=".../ping/…/fail">`` on any site: Chromium sends ``Sec-Fetch-Site: cross-site``
    (and ``Origin`` for a form or fetch); either is refused, and no state changes."""
    base, exporter = monitor
    write = "-o /dev/null -w '%{http_code}'"
    assert shell(f"curl -s {write} https://hc-ping.com/cron-web", base).stdout == "200"
    for header in ("Sec-Fetch-Site: cross-site", "Origin: http://evil.example", "Sec-Fetch-Site: same-site"):
        fail = shell(f"curl -s {write} -H '{header}' https://hc-ping.com/cron-web/fail", base)
        assert fail.stdout == "403", header
        push = shell(f"curl -s {write} -H '{header}' 'KUMA/api/push/JSHs372KL8?status=down'", base)
        assert push.stdout == "403", header
    assert samples(exporter, "cron-web")["state=up"] == 1
    assert (
        json.loads(shell("curl -s -H 'Origin: null' https://hc-ping.com/cron-web", base).stdout)["error"]
        == "cross_site"
    )
    # what a script sends, and a browser's own address bar (Sec-Fetch-Site: none), still ping
    assert (
        shell(f"curl -s {write} -H 'Sec-Fetch-Site: none' https://hc-ping.com/cron-web/fail", base).stdout
        == "200"
    )
