"""A job's runs (SPEC §13, the first part of issue #23): start and finish signals from the agent's
``job()``, its cron wrapper ``heartbeat-agent run`` and healthchecks' ``/start`` then ``/$?``
lines, on a real receiver and Redis. A finish that failed counts toward ``failure_threshold``;
a start between two failed runs does not end the streak."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.web.app import create_app as create_exporter
from harness.ports import free_port
from harness.redis import RedisServer
from heartbeat_agent import HeartbeatSender
from heartbeat_core.config import Settings, from_mapping
from heartbeat_core.record import ServiceRecord
from heartbeat_core.schedule import next_due
from heartbeat_core.status import State, assess
from heartbeat_core.store import make_store
from heartbeat_receiver.app import create_app
from tests.integration.test_status_api import USERS
from tests.support import FakeClock, LiveServer, parse_samples

KEY = "job-ping-key-0123456789"


@pytest.fixture
def receiver(redis_server: RedisServer) -> Iterator[tuple[LiveServer, Settings]]:
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "ingest_tokens": [KEY],
            "types": {"backend": {"failure_threshold": 2}},
        }
    )
    server = LiveServer(create_app(settings))
    yield server, settings
    server.stop()


def record(settings: Settings, name: str) -> ServiceRecord:
    (found,) = [r for r in make_store(settings).snapshot().services if r.name == name]
    return found


def state(settings: Settings, name: str) -> State:
    found = record(settings, name)
    return assess(found, settings.service_types, found.last_seen).state


def test_a_job_block_sends_its_start_and_finish_and_a_failure_counts(
    receiver: tuple[LiveServer, Settings],
) -> None:
    server, settings = receiver
    sender = HeartbeatSender(server.url("/heartbeat"), payload={"service": "backend-nightly"}, token=KEY)
    with sender.job() as run:
        assert record(settings, "backend-nightly").reported["event"] == "start"
    done = record(settings, "backend-nightly")
    assert (done.reported["event"], done.reported["run_id"]) == ("finish", run)
    assert done.reported["metrics"]["run_seconds"] >= 0 and state(settings, "backend-nightly") is State.UP
    for _ in range(2):  # failure_threshold 2: the second failed run makes it failing
        with pytest.raises(RuntimeError), sender.job():
            raise RuntimeError("export file not found")
    failed = record(settings, "backend-nightly")
    assert failed.reported["message"] == "RuntimeError: export file not found"
    assert failed.failing_streak == 2 and state(settings, "backend-nightly") is State.FAILING


def test_the_cron_wrapper_passes_the_command_through_and_reports_its_end(
    receiver: tuple[LiveServer, Settings],
) -> None:
    server, settings = receiver
    script = "echo exported 42 rows; echo 'disk full' >&2; exit 3"
    line = [sys.executable, "-m", "heartbeat_agent", "run", "--url", server.url("/heartbeat")]
    line += ["--service", "backend-export", "--token", KEY, "--", "sh", "-c", script]
    run = subprocess.run(line, capture_output=True, text=True, timeout=60)
    assert run.returncode == 3  # the command's own status
    assert run.stdout == "exported 42 rows\n" and run.stderr == "disk full\n"  # passed through
    finished = record(settings, "backend-export")
    assert finished.reported["exit_status"] == 3 and finished.reported["status"] == "failing"
    # both streams' ends, each line whole; which pipe is read first is the scheduler's choice
    assert sorted(finished.reported["message"].split("\n")) == ["disk full", "exported 42 rows"]
    assert finished.received == 2  # its start, then its finish


def test_the_cron_wrapper_never_fails_a_command_because_the_monitor_is_away() -> None:
    line = [
        sys.executable,
        "-m",
        "heartbeat_agent",
        "run",
        "--url",
        f"http://127.0.0.1:{free_port()}/heartbeat",
    ]
    line += ["--service", "backend-export", "--timeout", "1", "--", "sh", "-c", "echo ok"]
    run = subprocess.run(line, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == "ok\n"


def test_healthchecks_start_then_exit_status_lines(receiver: tuple[LiveServer, Settings]) -> None:
    """healthchecks' documented pair, host swapped: /start before the command, /$? after it."""
    server, settings = receiver
    base = server.url(f"/ping/{KEY}/backend-certbot")
    for _ in range(2):
        curl = "curl -fsS -m 10 --retry 5 -o /dev/null"
        script = f"{curl} {base}/start\n/usr/bin/false\n{curl} {base}/$?"
        assert subprocess.run(["bash", "-c", script], timeout=60).returncode == 0
    failed = record(settings, "backend-certbot")
    assert failed.reported["exit_status"] == 1 and failed.reported["event"] == "finish"
    # two failed runs with a start between them: the streak held, failure_threshold 2 reached
    assert failed.failing_streak == 2 and state(settings, "backend-certbot") is State.FAILING
    rid = subprocess.run(["curl", "-fsS", "-o", "/dev/null", f"{base}/0?rid=run-7"], timeout=60)
    assert rid.returncode == 0
    passed = record(settings, "backend-certbot")
    assert (passed.reported.get("run_id"), passed.failing_streak) == ("run-7", 0)


def test_metrics_say_when_each_scheduled_job_is_next_due(redis_server: RedisServer, clock: FakeClock) -> None:
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "snapshot_cache_seconds": 0,
            "jobs": {
                "backend": {"schedule": "30 2 * * *", "tz": "Europe/Berlin"},
                "cron-": {"schedule": "*/15 * * * *"},
            },
        }
    )
    receiver = create_app(settings, clock=clock).test_client()
    for name in ("backend-export", "cron-rotate", "kafka-1"):
        assert receiver.post("/heartbeat", json={"service": name}).status_code == 200
    text = create_exporter(settings, clock=clock).test_client().get("/metrics").get_data(as_text=True)
    due = {
        dict(labels)["service_name"]: value
        for (metric, labels), value in parse_samples(text).items()
        if metric == "heartbeat_job_next_due_timestamp_seconds"
    }
    assert due == {
        "backend-export": next_due("30 2 * * *", "Europe/Berlin", clock.now),
        "cron-rotate": next_due("*/15 * * * *", "UTC", clock.now),
    }  # kafka-1 is no job
    assert 0 < due["cron-rotate"] - clock.now <= 15 * 60


def test_runs_pair_by_run_id_and_the_metrics_and_status_api_tell_them(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Two overlapping runs, a failure, an unpaired finish, then a hung run: counted by outcome,
    timed, and judged (running, then down for overrun) alike by /metrics and the status API."""
    settings = from_mapping(
        {
            "redis_url": redis_server.url,
            "redis_key_prefix": "runs",
            "snapshot_cache_seconds": 0,
            "users": USERS,
            "jobs": {"etl-": {"schedule": "0 * * * *", "max_runtime": 100, "min_runtime": 10}},
        }
    )
    receiver = create_app(settings, clock=clock).test_client()
    exporter = create_exporter(settings, clock=clock).test_client()
    t0 = clock.now

    def beat(**fields: object) -> None:
        assert receiver.post("/heartbeat", json={"service": "etl-orders", **fields}).status_code == 200

    def job_metrics() -> dict[str, float]:
        text = exporter.get("/metrics").get_data(as_text=True)
        return {
            name + (f"{{{dict(labels)['outcome']}}}" if "outcome" in dict(labels) else ""): value
            for (name, labels), value in parse_samples(text).items()
            if name.startswith("heartbeat_job_") and dict(labels).get("service_name") == "etl-orders"
        }

    beat(event="start", run_id="a")
    clock.advance(1)
    beat(event="start", run_id="b")
    assert state(settings, "etl-orders") is State.RUNNING
    assert job_metrics()["heartbeat_job_running"] == 1
    clock.advance(4)
    beat(event="finish", run_id="b")  # 4 s: the later run ends first
    clock.advance(15)
    beat(event="finish", run_id="a", exit_status=2)  # 20 s, failed
    clock.advance(10)
    beat()  # a finish with no start: still a run
    found = job_metrics()
    assert found["heartbeat_job_runs_total{success}"] == 2 and found["heartbeat_job_runs_total{fail}"] == 1
    assert found["heartbeat_job_last_duration_seconds"] == pytest.approx(20, abs=0.01)
    assert found["heartbeat_job_last_success_timestamp_seconds"] == pytest.approx(t0 + 30)
    assert found["heartbeat_job_running"] == 0 and found["heartbeat_job_min_runtime_seconds"] == 10

    clock.advance(10)
    beat(event="start")  # hangs
    clock.advance(101)
    assert job_metrics()["heartbeat_job_running"] == 1
    token = exporter.post("/auth/login", json={"username": "alice", "password": "alice-password"})
    answer = exporter.post(
        "/heartbeat/status", headers={"Authorization": f"Bearer {token.get_json()['access_token']}"}
    )
    (entry,) = [s for s in answer.get_json()["service_status"]["other"] if s["service"] == "etl-orders"]
    assert (entry["state"], entry["is_alive"], entry["job"]["reason"]) == ("down", False, "overrun")
    assert entry["job"]["running_since"] == pytest.approx(t0 + 40)
    assert entry["job"]["next_due"] == next_due("0 * * * *", "UTC", clock.now)
    assert (entry["job"]["schedule"], entry["job"]["max_runtime_seconds"]) == ("0 * * * *", 100)
    assert entry["job"]["runs"] == {"success": 2, "fail": 1, "overrun": 0}
    assert [r["outcome"] for r in entry["job"]["recent"]] == ["success", "fail", "success"]
    clock.advance(9)
    beat(event="finish")  # 110 s: past max_runtime, an overrun even though it succeeded
    assert job_metrics()["heartbeat_job_runs_total{overrun}"] == 1
    assert state(settings, "etl-orders") is State.UP


def test_a_crontab_line_wrapping_a_real_command(
    receiver: tuple[LiveServer, Settings], tmp_path: Path
) -> None:
    """A crontab line as the README shows it, run the way cron runs it: its command by /bin/sh,
    with cron's bare environment (no virtualenv activated, PATH naming where the command lives)."""
    server, settings = receiver
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("id,value\n1,42\n", encoding="utf-8")
    archive = tmp_path / "backup.tgz"
    line = (
        f"30 2 * * * heartbeat-agent run --service backend-backup --url {server.url('/heartbeat')} "
        f"--token {KEY} -- tar -czvf {archive} -C {tmp_path} data"
    )
    schedule, command = " ".join(line.split()[:5]), line.split(maxsplit=5)[5]
    assert next_due(schedule, "UTC", 0) == 2 * 3600 + 30 * 60  # the schedule cron (and cronsim) read
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": str(tmp_path)}
    run = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "data/rows.csv" in run.stdout and archive.stat().st_size > 0  # the command ran, output passed on
    found = record(settings, "backend-backup")
    assert (found.reported["event"], found.reported["exit_status"]) == ("finish", 0)
    assert "data/rows.csv" in found.reported["message"]  # the end of its output, as the message
    assert found.runs is not None and found.runs.counts == {"success": 1}
    assert found.runs.last_duration is not None and found.runs.last_duration >= 0


def test_a_new_start_ends_a_run_open_past_max_runtime_as_an_overrun(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """A run whose finish never came (killed with -9) does not stay open for ever: the next start
    counts it as an overrun and the job is judged by its new run; open runs are bounded."""
    settings = from_mapping(
        {"redis_url": redis_server.url, "redis_key_prefix": "stale", "jobs": {"etl-": {"max_runtime": 100}}}
    )
    receiver = create_app(settings, clock=clock).test_client()

    def beat(**fields: object) -> None:
        assert receiver.post("/heartbeat", json={"service": "etl-sync", **fields}).status_code == 200

    beat(event="start", run_id="killed")
    clock.advance(101)
    assert state(settings, "etl-sync") is State.RUNNING  # at its own last beat; judged at now below
    found = record(settings, "etl-sync")
    assert assess(found, settings.service_types, clock.now).reason == "overrun"
    beat(event="start", run_id="next")
    found = record(settings, "etl-sync")
    assert found.runs is not None and found.runs.counts == {"overrun": 1} and len(found.runs.open) == 1
    assert assess(found, settings.service_types, clock.now).state is State.RUNNING
    for i in range(40):  # starts that never finish, within max_runtime: at most 16 kept open
        beat(event="start", run_id=f"r{i}")
    found = record(settings, "etl-sync")
    assert found.runs is not None and len(found.runs.open) == 16
