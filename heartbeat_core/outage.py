"""An outage reported once: a warning when it starts, a line when it ends, debug in between.

Each process that talks to Redis (or writes the rollup, or records history) would otherwise log
every failed call of an outage. A plain flag, no lock: a race between threads only repeats or
skips one log line.
"""

from __future__ import annotations

import logging


class Outage:
    def __init__(self, log: logging.Logger, failing: str, back: str | None = None) -> None:
        self.log = log
        self.failing = failing  # "cannot read the heartbeat store": the exception follows
        self.back = back  # said when it ends; None says nothing
        self.on = False

    def failed(self, exc: BaseException) -> None:
        first, self.on = not self.on, True
        (self.log.warning if first else self.log.debug)("%s: %s", self.failing, exc)

    def ok(self) -> None:
        if self.on:
            self.on = False
            if self.back is not None:
                self.log.info(self.back)
