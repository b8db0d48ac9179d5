"""Group commit: heartbeats that arrive together share one Redis call, and each gets its own answer."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from harness.servers import wait_until
from heartbeat_core.groupcommit import GroupCommit


class HeldFlush:
    """A flush whose first batch stays in flight until released, as a slow Redis call would."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[str]) -> list[str]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.release.wait(10)
        if self.fail_on in items:
            raise ConnectionError("store went away")
        return [item.upper() for item in items]


def submit_all(
    commit: GroupCommit[str, str], items: list[str]
) -> tuple[dict[str, object], list[threading.Thread]]:
    answers: dict[str, object] = {}

    def one(item: str) -> None:
        try:
            answers[item] = commit.submit(item)
        except ConnectionError as exc:
            answers[item] = exc

    threads = [threading.Thread(target=one, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return answers, threads


def test_requests_arriving_during_a_call_go_together_in_the_next_and_each_gets_its_own_result() -> None:
    flush = HeldFlush()
    commit: GroupCommit[str, str] = GroupCommit(flush)
    first, first_threads = submit_all(commit, ["a"])
    wait_until(lambda: flush.batches == [["a"]], timeout=5)
    rest, threads = submit_all(commit, ["b", "c", "d", "e"])
    wait_until(lambda: commit.pending == 4, timeout=5)  # all four wait behind the call in flight
    flush.release.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert flush.batches[0] == ["a"]
    assert sorted(flush.batches[1]) == ["b", "c", "d", "e"]  # one call for the four, not four calls
    assert {**first, **rest} == {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
    assert commit.pending == 0
    assert commit.submit("f") == "F"  # leadership was handed back: a lone request goes straight out


def test_a_failed_call_fails_every_request_in_it_and_the_next_batch_still_goes_out() -> None:
    flush = HeldFlush(fail_on="c")
    commit: GroupCommit[str, str] = GroupCommit(flush)
    first, first_threads = submit_all(commit, ["a"])
    wait_until(lambda: len(flush.batches) == 1, timeout=5)
    rest, threads = submit_all(commit, ["b", "c"])
    wait_until(lambda: commit.pending == 2, timeout=5)
    flush.release.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert first == {"a": "A"}
    assert isinstance(rest["b"], ConnectionError) and isinstance(rest["c"], ConnectionError)
    assert commit.submit("g") == "G"  # nothing stuck after the failure


def test_a_batch_never_exceeds_its_limit() -> None:
    flush = HeldFlush()
    commit: GroupCommit[str, str] = GroupCommit(flush, max_batch=3)
    _, first_threads = submit_all(commit, ["a"])
    wait_until(lambda: len(flush.batches) == 1, timeout=5)
    items = [f"x{i}" for i in range(7)]
    rest, threads = submit_all(commit, items)
    wait_until(lambda: commit.pending == 7, timeout=5)
    flush.release.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert [len(batch) for batch in flush.batches[1:]] == [3, 3, 1]
    assert rest == {item: item.upper() for item in items}
