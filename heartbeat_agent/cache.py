"""Beats that no URL took, kept to go with the next one that gets through, in one batch."""

from __future__ import annotations

import collections
import threading
import urllib.parse
from typing import Any


class BeatCache:
    """Oldest first, and bounded: the newest ``size`` are kept, whatever the outage's length."""

    def __init__(self, size: int) -> None:
        self._beats: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._beats)

    def add(self, beat: dict[str, Any]) -> None:
        with self._lock:
            self._beats.append(beat)

    def beats(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._beats)

    def clear(self) -> None:
        with self._lock:
            self._beats.clear()


def batch_url(url: str) -> str:
    """The batch route beside a heartbeat URL: ``…/heartbeat`` (or ``…/heartbeat/report``) + ``/batch``."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/report"):
        path = path[: -len("/report")]
    return urllib.parse.urlunsplit(parts._replace(path=path + "/batch"))
