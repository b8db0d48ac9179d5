"""The client-side deadline that keeps a hung database from hanging the exporter's worker."""

from __future__ import annotations

import threading
import time

import pytest

from exporter.sql.database import DeadlineExceeded, DeadlineRunner
from harness.servers import wait_until


def test_results_and_errors_come_back_from_the_helper_thread() -> None:
    runner = DeadlineRunner("test")
    assert runner.run(lambda: 41 + 1, timeout=5) == 42
    with pytest.raises(ZeroDivisionError):
        runner.run(lambda: 1 / 0, timeout=5)
    assert runner.run(lambda: "again", timeout=5) == "again"  # an error does not end the helper


def test_a_call_past_its_deadline_is_reported_on_time_and_blocks_new_calls_until_it_returns() -> None:
    runner = DeadlineRunner("test")
    hung = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"no answer within 0\.2 s"):
        runner.run(lambda: hung.wait(30), timeout=0.2)
    assert time.monotonic() - started < 5  # the caller got its answer, the call did not
    assert runner.busy
    with pytest.raises(DeadlineExceeded, match="has not returned yet"):
        runner.run(lambda: "never runs", timeout=5)
    hung.set()  # the hung call finally returns ...
    wait_until(lambda: not runner.busy, timeout=5)
    assert runner.run(lambda: "next", timeout=5) == "next"  # ... and work goes on


def test_the_helper_thread_is_kept_between_calls() -> None:
    runner = DeadlineRunner("test")
    first = runner.run(threading.get_ident, timeout=5)
    assert [runner.run(threading.get_ident, timeout=5) for _ in range(5)] == [first] * 5
    assert first != threading.get_ident()
