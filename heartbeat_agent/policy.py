"""When beats are due and how long a failed one waits before its next try."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


def next_due(start: float, interval: float, now: float) -> float:
    """The first slot ``start + k * interval`` strictly after ``now``.

    Beats are pinned to this grid, so a slow request delays one beat but never shifts the
    ones after it, and slots missed while the host was suspended are skipped, not sent in a burst.
    """
    if now < start:
        return start
    k = int((now - start) // interval) + 1
    return start + k * interval


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)).

    Full jitter spreads a fleet of agents that failed together (a receiver restart) so that they
    do not all come back in the same instant.
    """
    return rand() * min(cap, base * (2.0**attempt))


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the HTTP-date form is not sent by our receiver)."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How one beat is retried: ``max_attempts`` tries over the URLs in turn, failing over at once
    and backing off (full jitter, at least the server's ``Retry-After``) after each full round."""

    max_attempts: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    rand: Callable[[], float] = field(default=random.random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def wait_before(self, attempt: int, urls: int, hint: float | None) -> float | None:
        """Seconds to wait before try ``attempt + 1``; None to fail over to the next URL at once."""
        if (attempt + 1) % urls:
            return None
        delay = backoff_delay(attempt // urls, self.backoff_base, self.backoff_cap, self.rand)
        return delay if hint is None else max(delay, hint)
