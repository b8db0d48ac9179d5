"""A job's run (SPEC §13) as beats: a start, then its finish with the run's duration."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from .limits import MAX_MESSAGE


class Beats(Protocol):
    clock: Callable[[], float]

    def send_once(self, extra: Mapping[str, Any] | None = None) -> bool: ...


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def finish(run: str, seconds: float, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A run's finish beat: its id, its duration (``metrics.run_seconds``), and ``fields``."""
    return {"event": "finish", "run_id": run, "metrics": {"run_seconds": round(seconds, 3)}, **fields}


@contextlib.contextmanager
def job_run(sender: Beats, run_id: str | None = None) -> Iterator[str]:
    """A start beat, the block, then its finish; an exception in the block makes the finish
    failing, with its summary as the message, and goes on. Yields the run's id."""
    run = run_id or new_run_id()
    started = sender.clock()
    sender.send_once({"event": "start", "run_id": run})
    try:
        yield run
    except BaseException as exc:
        summary = f"{type(exc).__name__}: {exc}"[-MAX_MESSAGE:]
        sender.send_once(finish(run, sender.clock() - started, {"status": "failing", "message": summary}))
        raise
    sender.send_once(finish(run, sender.clock() - started, {}))
