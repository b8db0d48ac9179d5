"""Heartbeat agent: sends heartbeats to a Heartbeat Monitor receiver on a fixed schedule.

Standard library only, and self-contained on purpose: copy the ``heartbeat_agent`` folder into
another program (or a PyInstaller build) and use ``from heartbeat_agent import HeartbeatSender``,
or run it as ``python -m heartbeat_agent --once``. Its modules import one another relatively, so
the folder works under any package it is copied into.

    sender = HeartbeatSender(urls=["http://127.0.0.1:26002/heartbeat"], interval=30, payload={"type": 4})
    sender.start()
    ...
    sender.stop()  # says goodbye: the monitor shows the service paused, not down
    print(sender.stats())

Python 3.8 or newer. This module keeps the names ``heartbeat_agent.agent`` always offered:
sending and failover are in ``sender.py`` and ``transport.py``, the retry policy in
``policy.py``, the cache in ``cache.py``, ``system=True``'s figures in ``system.py``, jobs in
``runs.py``, the command in ``command.py`` and its cron wrapper in ``wrapper.py``.
"""

from __future__ import annotations

import sys

from .command import build_payload, main
from .limits import DEFAULT_URL
from .policy import RetryPolicy, backoff_delay, next_due
from .sender import HeartbeatSender
from .system import SystemStats
from .transport import SendError
from .wrapper import run_command

__all__ = [
    "DEFAULT_URL",
    "HeartbeatSender",
    "RetryPolicy",
    "SendError",
    "SystemStats",
    "backoff_delay",
    "build_payload",
    "main",
    "next_due",
    "run_command",
]

if __name__ == "__main__":
    sys.exit(main())
