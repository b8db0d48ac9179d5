"""Alert quality for jobs (SPEC §13): every missed, hung or failing run pages once, and nothing else.

    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --suite jobs              # real time, ~40 min
    PYTHONPATH=. .venv/bin/python -m benchmarks.alert_quality --suite jobs --scale 12   # ~4 min

Five jobs run every two minutes (every 10 s at ``--scale 12``: cronsim's seconds field), 10 s a
run, with a grace of 30 s and a max_runtime of 60 s, beside the usual fleet of services, on the
real stack (``benchmarks.quality_stack``). In turn: all run fine; one misses a run; one hangs;
one fails twice with ``failure_threshold: 2``; one finishes far under its ``min_runtime``; the
receiver is stopped over a due time. Each fault's first page is timed from when it should page:
the due time for a missed run (bound: grace + scrape + evaluation + group_wait), the start for a
hang (max_runtime + the same), the second failed run's end, the fast run's end.
"""

from __future__ import annotations

import time
from collections import Counter

from benchmarks.quality_bench import Bench, Outcome, Plan, on_stack
from heartbeat_core.schedule import last_due, next_due

PERIOD, RUNTIME, GRACE, MAX_RUNTIME, MIN_RUNTIME = 120.0, 10.0, 30.0, 60.0, 5.0
DELIVERY = 15 + 15 + 30  # a scrape, an evaluation, group_wait
JOBS = ("job-fine", "job-missed", "job-hung", "job-failing", "job-fast")


def schedule(scale: float) -> str:
    """Every ``PERIOD`` seconds of real time, compressed: a cron line with cronsim's seconds field."""
    period = round(PERIOD / scale)
    if period % 60 == 0:
        return f"0 */{period // 60} * * * *"
    if 60 % period:
        raise ValueError(f"a period of {period} s does not divide a minute: choose another --scale")
    return f"*/{period} * * * * *"


def jobs_config(scale: float) -> dict[str, dict[str, object]]:
    rule = {"schedule": schedule(scale), "grace": GRACE / scale, "max_runtime": MAX_RUNTIME / scale}
    return {
        "job-failing": {**rule, "failure_threshold": 2},
        "job-fast": {**rule, "min_runtime": MIN_RUNTIME / scale},
        "job-": rule,
    }


class JobBench(Bench):
    def next_due(self) -> float:
        return next_due(schedule(self.k), "UTC", time.time())

    def until(self, moment: float) -> None:
        time.sleep(max(0.0, moment - time.time()))

    def fault(self, job: str, *faults: str, page: str) -> tuple[Outcome, float]:
        """Plan faults for the job's next runs; the outcome expects one page, and the first due time."""
        # clear of a due time on either side, so that the job's thread takes the plan at ``due``
        self.until(last_due(schedule(self.k), "UTC", time.time()) + self.s(2))
        due = self.next_due()
        if due - time.time() < self.s(2):
            self.until(due + self.s(2))
            due = self.next_due()
        self.stack.jobs[job].plan.extend(faults)
        return Outcome("", [], Counter({page: 1})), due

    def missed(self) -> Outcome:
        outcome, due = self.fault("job-missed", "skip", page="HeartbeatJobMissed")
        outcome.since, outcome.bound = due, GRACE + DELIVERY
        self.until(due + self.s(GRACE + DELIVERY + 30))
        return outcome

    def hung(self) -> Outcome:
        outcome, due = self.fault("job-hung", "hang", page="HeartbeatJobOverrun")
        outcome.since, outcome.bound = due, MAX_RUNTIME + DELIVERY
        self.until(due + self.s(MAX_RUNTIME + DELIVERY + 30))
        self.stack.jobs["job-hung"].release.set()  # it finishes at last: an overrun run
        return outcome

    def failing(self) -> Outcome:
        job = self.stack.jobs["job-failing"]
        outcome, due = self.fault("job-failing", "fail", "fail", page="HeartbeatJobFailed")
        self.until(due + self.s(PERIOD + RUNTIME + DELIVERY + 30))
        second = [t for t in job.ended if t > due][1]  # the second failed run's end
        outcome.since, outcome.bound = second, float(DELIVERY)
        return outcome

    def fast(self) -> Outcome:
        job = self.stack.jobs["job-fast"]
        outcome, due = self.fault("job-fast", "fast", page="HeartbeatJobTooFast")
        self.until(due + self.s(DELIVERY + 30))
        outcome.since, outcome.bound = next(t for t in job.ended if t > due), float(DELIVERY)
        return outcome

    def receiver_over_due(self) -> Outcome:
        """The receiver stopped from 20 s before a due time to 60 s after it: every job's run then
        is lost; the monitor pages as itself, once, and no job as missed."""
        due = self.next_due()
        if due - time.time() < self.s(25):
            due += self.s(PERIOD)
        self.until(due - self.s(20))
        return self.outage("receiver", (due + self.s(60) - time.time()) * self.k)


def jobs_plan(bench: Bench) -> Plan:
    jobs = JobBench(bench.stack)
    for name in JOBS:
        jobs.stack.add_job(name, schedule(jobs.k), jobs.s(RUNTIME))
    return [
        ("warm-up", lambda: None, 150),
        ("jobs run fine", lambda: None, 2 * PERIOD),
        ("a run missed", jobs.missed, PERIOD),
        ("a run hangs", jobs.hung, PERIOD),
        ("two failed runs, failure_threshold 2", jobs.failing, PERIOD),
        ("a run under min_runtime", jobs.fast, PERIOD + 30),
        ("receiver stopped over a due time", jobs.receiver_over_due, 150 + PERIOD),
    ]


def run_jobs(scale: float, rules: str, alertmanager: str) -> list[Outcome]:
    return on_stack(scale, rules, alertmanager, jobs_plan, jobs_config(scale))
