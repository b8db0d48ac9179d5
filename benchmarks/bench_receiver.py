"""Receiver throughput and latency with wrk, beside its references, in one run (loopback only).

    .venv/bin/python -m benchmarks.bench_receiver --seconds 10 --rounds 3

Every target is started once on its own free loopback port; then each round measures them all in
turn with ``wrk -t2 -c50`` (heartbeats from 1,000 distinct services), so that a noisy minute on
the shared machine falls on every target of that round, not on one. Ratios are taken per round.
* bare Flask answering 204 on gunicorn gthread (-w 2 --threads 8): the issue's floor, and the
  same app on Granian 2x4; a bare RSGI app on Granian (2 workers), the floor of the receiver's
  own server, and the receiver's checks on that server without the Redis write;
* the issue's sketch: the same app with one pipelined ZADD+HSET+HINCRBY, on gunicorn gthread 2x8;
* the receiver on Granian RSGI (what ``heartbeat-receiver`` runs), on Granian WSGI (the set-up
  before) and on the floor's gunicorn set-up, a private redis-server behind it;
* the receiver taking ``POST /heartbeat/batch`` of 100 beats a request: beats per second
  against Pushgateway's pushes per second;
* Prometheus Pushgateway (Debian) with ``--push.disable-consistency-check``, one push per
  request to 1,000 groups; and once, after the rounds, with default flags and 10,000 groups stored.
Every load run is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness.ports import free_port
from harness.redis import RedisServer
from harness.servers import wait_http

ROOT = Path(__file__).resolve().parents[1]

BARE_APP = textwrap.dedent(
    """
    from flask import Flask
    app = Flask(__name__)

    @app.post("/heartbeat")
    def beat():
        return "", 204

    @app.get("/healthz")
    def health():
        return "ok"
    """
)

# Granian's own RSGI floor: read the body, answer; what no RSGI app can beat on this machine
BARE_RSGI = textwrap.dedent(
    """
    async def app(scope, proto):
        if scope.proto == "http":
            await proto()
            proto.response_bytes(200, [("content-type", "application/json")], b'{"ok":true}\\n')
    """
)

# the sketch of a receiver: Flask with one pipelined ZADD+HSET+HINCRBY per heartbeat
SKETCH_APP = textwrap.dedent(
    """
    import os, time
    import redis
    from flask import Flask, request

    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["HEARTBEAT_REDIS_URL"])

    @app.post("/heartbeat")
    def beat():
        name = request.get_json()["service"]
        now = time.time()
        pipe = client.pipeline(transaction=False)
        pipe.zadd("sketch:seen", {name: now})
        pipe.hset("sketch:info", name, request.remote_addr or "")
        pipe.hincrby("sketch:count", name, 1)
        pipe.execute()
        return {"service": name, "received_at": now}

    @app.get("/healthz")
    def health():
        return "ok"
    """
)

HEARTBEATS = textwrap.dedent(
    """
    counter = 0
    request = function()
      counter = counter + 1
      local body = '{"service": "collector-' .. (counter % 1000) .. '", "timestamp": 1763800000}'
      return wrk.format("POST", "/heartbeat", {["Content-Type"] = "application/json"}, body)
    end
    """
)

# what the agent sends since sequence tracking: the record script also checks seq and instance
AGENT_BEATS = textwrap.dedent(
    """
    counter = 0
    request = function()
      counter = counter + 1
      local n = counter % 1000
      local body = '{"service": "collector-' .. n .. '", "timestamp": 1763800000, "interval": 30, '
        .. '"instance": "i' .. n .. '", "seq": ' .. math.floor(counter / 1000) .. '}'
      return wrk.format("POST", "/heartbeat", {["Content-Type"] = "application/json"}, body)
    end
    """
)

# POST /heartbeat/batch with BATCH beats a request (SPEC §12), ten bodies of distinct services;
# fresh beats (no old timestamp: a replay older than its service's last beat is only counted,
# the record script's cheapest branch, which is what this target measured until 2026-12-04)
BATCH = 100
BATCHES = textwrap.dedent(
    """
    bodies = {}
    for i = 0, 9 do
      local beats = {}
      for j = 0, BATCH - 1 do
        beats[#beats + 1] = '{"service": "collector-' .. (i * BATCH + j) .. '", "interval": 30}'
      end
      bodies[i] = "[" .. table.concat(beats, ",") .. "]"
    end
    counter = 0
    request = function()
      counter = counter + 1
      local headers = {["Content-Type"] = "application/json"}
      return wrk.format("POST", "/heartbeat/batch", headers, bodies[counter % 10])
    end
    """
).replace("BATCH", str(BATCH))

PUSHES = textwrap.dedent(
    """
    counter = 0
    request = function()
      counter = counter + 1
      local path = "/metrics/job/heartbeat/instance/svc-" .. (counter % GROUPS)
      return wrk.format("PUT", path, {["Content-Type"] = "text/plain"}, "heartbeat_last_seen 1763800000\\n")
    end
    """
)


def wrk(url: str, script: str, seconds: int) -> dict[str, float]:
    print(f"wrk {url} for {seconds} s", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def serve(command: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    print(f"starting {' '.join(command[:4])}", file=sys.stderr, flush=True)
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stop() ends the workers too
    )
    wait_http(health)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server with all its worker processes, and let the machine settle before the next run."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    time.sleep(3)


def pushgateway_store(folder: Path, groups: int) -> Path:
    """A persistence file holding ``groups`` groups, for the default-flags gateway to load.

    Pushed with the consistency check off (pushes with it on slow to a crawl as groups grow),
    written by the gateway on shutdown.
    """
    persisted = folder / "pushgateway.store"
    port = free_port()
    loader = serve(
        [
            "prometheus-pushgateway",
            f"--web.listen-address=127.0.0.1:{port}",
            "--push.disable-consistency-check",
            f"--persistence.file={persisted}",
        ],
        {},
        f"http://127.0.0.1:{port}/-/ready",
    )
    try:
        for i in range(groups):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics/job/heartbeat/instance/svc-{i}",
                data=b"heartbeat_last_seen 1\n",
                method="PUT",
            )
            urllib.request.urlopen(request, timeout=10).close()
    finally:
        stop(loader)
    return persisted


def summarize(rounds: list[dict[str, dict[str, float]]], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Median req/s and p99 per target, and per-round ratios (median and worst) for each pair."""
    targets: dict[str, Any] = {}
    for name in rounds[0]:
        runs = [r[name] for r in rounds if name in r]
        targets[name] = {
            "rps_median": round(statistics.median(x["rps"] for x in runs)),
            "p99_ms_median": round(statistics.median(x["p99_ms"] for x in runs), 1),
            "rps_each_round": [round(x["rps"]) for x in runs],
            "p99_ms_each_round": [round(x["p99_ms"], 1) for x in runs],
            "non_2xx": sum(int(x["non_2xx"]) for x in runs),
        }
    ratios = {}
    for ours, reference in pairs:
        each = [r[ours]["rps"] / r[reference]["rps"] for r in rounds if ours in r and reference in r]
        ratios[f"{ours} / {reference}"] = {
            "median": round(statistics.median(each), 3),
            "worst": round(min(each), 3),
            "each_round": [round(x, 3) for x in each],
        }
    return {"targets": targets, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--receiver",
        type=lambda v: tuple(int(x) for x in v.split("x")),
        nargs="+",
        default=[(2, 4)],
        help="Granian workers x threads to measure the receiver with, e.g. 2x4 2x8",
    )
    parser.add_argument(
        "--baseline", help="a git revision whose receiver runs beside today's in every round (e.g. 6c49fae)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    (folder / "bare.py").write_text(BARE_APP)
    (folder / "sketch.py").write_text(SKETCH_APP)
    (folder / "bare_rsgi.py").write_text(BARE_RSGI)
    gunicorn = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--keep-alive", "5", "-w", "2"]
    gunicorn += ["--threads", "8", "--chdir", str(folder), "-b", "127.0.0.1:{port}"]
    granian = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1"]
    granian += ["--port", "{port}", "--workers", "2", "--blocking-threads", "4", "--working-dir", str(folder)]
    rsgi = [sys.executable, "-m", "granian", "--interface", "rsgi", "--host", "127.0.0.1", "--port", "{port}"]
    rsgi += ["--workers", "2", "--working-dir", str(folder)]
    pushgateway = ["prometheus-pushgateway", "--web.listen-address=127.0.0.1:{port}"]
    ours = [sys.executable, "-m", "heartbeat_receiver", "--listen", "127.0.0.1:{port}"]
    persisted = pushgateway_store(folder, 10_000)

    floor, floor_granian = "bare Flask, gunicorn gthread 2x8 (floor)", "bare Flask, Granian 2x4"
    floor_rsgi = "bare RSGI app, Granian 2 workers (the receiver's own server's floor)"
    unstored = "receiver's checks and answer without the Redis write, RSGI 2 workers"
    old_setup = "receiver on Granian WSGI 2x4 (the set-up before RSGI)"
    receiver = "receiver, Granian {}x{} (heartbeat-receiver)"
    gateway = "Pushgateway --push.disable-consistency-check, 1k groups"
    with RedisServer() as redis_server, contextlib.ExitStack() as servers:
        env = {"HEARTBEAT_REDIS_URL": redis_server.url, "PYTHONPATH": str(ROOT)}  # benchmarks.*
        targets: dict[str, tuple[list[str], str, str]] = {  # command, health path, wrk script
            floor: ([*gunicorn, "bare:app"], "/healthz", HEARTBEATS),
            floor_granian: ([*granian, "bare:app"], "/healthz", HEARTBEATS),
            floor_rsgi: ([*rsgi, "bare_rsgi:app"], "/", HEARTBEATS),
            # the receiver without the Redis write: benchmarks/unstored_receiver.py, public seams only
            unstored: ([*rsgi, "--factory", "benchmarks.unstored_receiver:app"], "/healthz", HEARTBEATS),
            old_setup: ([*granian, "--factory", "heartbeat_receiver.wsgi:app"], "/healthz", HEARTBEATS),
            "issue's sketch: Flask + pipelined ZADD/HSET/HINCRBY, gunicorn gthread 2x8": (
                [*gunicorn, "sketch:app"],
                "/healthz",
                HEARTBEATS,
            ),
            "receiver, gunicorn gthread 2x8": (
                [*gunicorn, "heartbeat_receiver.wsgi:app()"],
                "/healthz",
                HEARTBEATS,
            ),
            gateway: (
                [*pushgateway, "--push.disable-consistency-check"],
                "/-/ready",
                PUSHES.replace("GROUPS", "1000"),
            ),
        }
        for workers, threads in args.receiver:
            targets[receiver.format(workers, threads)] = (
                [*ours, "--workers", str(workers), "--threads", str(threads)],
                "/healthz",
                HEARTBEATS,
            )
        workers, threads = args.receiver[0]
        if args.baseline:
            tree = folder / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], check=True)
            servers.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(tree)], check=False)
            targets[f"receiver at {args.baseline}, Granian {workers}x{threads}"] = (
                ["env", f"PYTHONPATH={tree}", *ours, "--workers", str(workers), "--threads", str(threads)],
                "/healthz",
                HEARTBEATS,
            )
        targets[receiver.format(workers, threads) + f", POST /heartbeat/batch of {BATCH}"] = (
            [*ours, "--workers", str(workers), "--threads", str(threads)],
            "/healthz",
            BATCHES,
        )
        targets[receiver.format(workers, threads) + ", the agent's beats (seq, instance)"] = (
            [*ours, "--workers", str(workers), "--threads", str(threads)],
            "/healthz",
            AGENT_BEATS,
        )
        urls = {}
        for name, (command, health, _) in targets.items():
            port = free_port()
            process = serve(
                [part.format(port=port) for part in command], env, f"http://127.0.0.1:{port}{health}"
            )
            servers.callback(stop, process)
            urls[name] = f"http://127.0.0.1:{port}"
        rounds: list[dict[str, dict[str, float]]] = []
        for number in range(args.rounds):
            print(f"round {number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            rounds.append({name: wrk(urls[name], targets[name][2], args.seconds) for name in targets})

    port = free_port()
    slow = serve(
        [*(part.format(port=port) for part in pushgateway), f"--persistence.file={persisted}"],
        {},
        f"http://127.0.0.1:{port}/-/ready",
    )
    try:
        slowest = wrk(f"http://127.0.0.1:{port}", PUSHES.replace("GROUPS", "10000"), args.seconds)
    finally:
        stop(slow)
    slow_name = "Pushgateway default flags, 10k groups stored"
    for each in rounds:
        each[slow_name] = slowest  # measured once: it is ~1,000x slower, noise cannot change that
    pairs = []
    for workers, threads in args.receiver:
        mine = receiver.format(workers, threads)
        pairs += [(mine, floor_rsgi), (mine, floor_granian), (mine, floor), (mine, gateway)]
        pairs += [(mine, slow_name), (mine, old_setup)]
    pairs += [(floor_rsgi, gateway), (unstored, gateway), (unstored, floor_rsgi)]
    pairs.append(("receiver, gunicorn gthread 2x8", floor))
    first = receiver.format(*args.receiver[0])
    if args.baseline:
        pairs.append(
            (first, f"receiver at {args.baseline}, Granian {args.receiver[0][0]}x{args.receiver[0][1]}")
        )
    pairs += [
        (first + ", the agent's beats (seq, instance)", first),
        (first + ", the agent's beats (seq, instance)", gateway),
    ]
    summary = summarize(rounds, pairs)
    # beats, not requests: a batch request carries BATCH of them; a push carries one
    batched = first + f", POST /heartbeat/batch of {BATCH}"
    ratio = [r[batched]["rps"] * BATCH / r[gateway]["rps"] for r in rounds]
    summary["beats_per_second"] = {
        "batch": round(statistics.median(r[batched]["rps"] * BATCH for r in rounds)),
        "single": round(statistics.median(r[first]["rps"] for r in rounds)),
        "pushgateway_pushes": round(statistics.median(r[gateway]["rps"] for r in rounds)),
        "batch / pushgateway": {"median": round(statistics.median(ratio), 2), "worst": round(min(ratio), 2)},
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
