"""A scrape of today's exporter beside the same scrape at an earlier revision, in one run.

    .venv/bin/python -m benchmarks.bench_scrape_revisions --baseline 6780bf6 --services 10000 --rounds 6

The revision is checked out in a git worktree. Each round runs one process per tree, in turn
(the order alternates between rounds), against the same private Redis on loopback: each fills
the store with its own tree's ``benchmarks.bench_exporter.fill`` (10k services with 8 metrics
and 4 info keys, half of them beating again between two scrapes, as a fleet beating every 30 s
does between scrapes 15 s apart) and times ``render`` of its exporter's registry, medians of
``--repeat`` scrapes. The ratio is taken per round, so a noisy minute falls on both trees.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.redis import RedisServer

ROOT = Path(__file__).resolve().parents[1]

# run in a child whose sys.path starts at one tree: that tree's exporter, store and fill
SCRAPE = """
import functools, json, sys, time
import exporter
from benchmarks.bench_exporter import fill, timed
from exporter.context import build
from exporter.metrics.exposition import render
from heartbeat_core.config import from_mapping

url, services, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = time.time()
fill(url, services, now, True)
config = {"redis_url": url, "max_services": services + 1, "snapshot_cache_seconds": 0}
app = build(from_mapping(config))
churn = functools.partial(fill, url, services, now, True, 0.5)
seconds = timed(lambda: render(app.registry), repeat, churn)
print(json.dumps({"seconds": seconds, "bytes": len(render(app.registry)), "from": exporter.__file__}))
"""


def scrape(tree: Path, url: str, services: int, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", SCRAPE, url, str(services), str(repeat)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(found["from"]).startswith(str(tree)), f"{tree}: imported {found['from']}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="the revision to compare with, e.g. 6780bf6")
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-scrape-"))
    tree = folder / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], check=True, cwd=ROOT)
    ratios, today, before = [], [], []
    try:
        with RedisServer() as server:
            for round_ in range(args.rounds):
                order = [("today", ROOT), ("baseline", tree)]
                got = {name: scrape(path, server.url, args.services, args.repeat) for name, path in
                       (order if round_ % 2 == 0 else order[::-1])}  # fmt: skip
                today.append(got["today"]["seconds"])
                before.append(got["baseline"]["seconds"])
                ratios.append(got["today"]["seconds"] / got["baseline"]["seconds"])
                print(f"round {round_ + 1}: today/baseline {ratios[-1]:.3f}", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], check=False, cwd=ROOT)
    print(
        json.dumps(
            {
                "services": args.services,
                "today_ms": round(statistics.median(today) * 1000, 1),
                f"at_{args.baseline}_ms": round(statistics.median(before) * 1000, 1),
                "today / baseline": {
                    "median": round(statistics.median(ratios), 3),
                    "worst": round(max(ratios), 3),
                    "rounds": [round(r, 3) for r in ratios],
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
