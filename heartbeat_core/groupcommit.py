"""Group commit: requests that arrive together reach Redis together, in one call.

A receiver's worker threads each hold one heartbeat. Sent one by one, every heartbeat pays a
full client call (command packing, a send, a receive and the client's bookkeeping) and Redis pays a
script invocation; under load those costs, not the work itself, fill the CPU. Here the first
thread to arrive becomes the leader and sends everything pending as one batch; threads that
arrive while it waits on Redis queue up, and the first of them leads the next batch. A leader
sends one batch and hands over, so no request waits behind more than the batch in flight.
With one request at a time this is the plain call plus one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Calls ``flush(items)`` (one result per item, in order) for items submitted by many threads."""

    def __init__(self, flush: Callable[[Sequence[T]], Sequence[R]], max_batch: int = 64) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._leading = False

    @property
    def pending(self) -> int:
        """Items waiting for the batch in flight to come back before they can be sent."""
        with self._lock:
            return len(self._queue)

    def submit(self, item: T) -> R:
        """The item's result, or the exception the batch it went in raised."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.done.wait()
        if lead or slot.lead:
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self) -> None:
        # the leader's own slot is first in the queue: it was queued first, or promoted as first
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            results = self._flush([slot.item for slot in batch])
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as exc:  # every request of the batch learns what happened to it
            for slot in batch:
                slot.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False
            for slot in batch:
                slot.done.set()
