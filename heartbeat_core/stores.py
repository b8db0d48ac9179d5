"""The small stores beside ``HeartbeatStore``, on its one key space: login sessions, maintenance
windows and receivers' presence. Each has one job and its own key; the heartbeat store's
snapshot still reads windows and presence in the same atomic call as the records, so that a
scrape judges every service under one picture.
"""

from __future__ import annotations

from collections.abc import Callable

from heartbeat_core.keys import KeySpace
from heartbeat_core.maintenance import MaintenanceWindow
from heartbeat_core.scripts import ANNOUNCE_SCRIPT


class SessionStore:
    """A status API token works, on every exporter, while its session is here.

    A store that loses its data loses the sessions too, so every token stops working (a logout
    cannot be forgotten: the failure is closed).
    """

    def __init__(self, space: KeySpace) -> None:
        self.client, self.key = space.client, space.sessions

    def open(self, token_id: str, expires_at: float, now: float) -> None:
        """A token is issued; sessions that expired are dropped here."""
        self.client.zadd(self.key, {token_id: expires_at})
        self.client.zremrangebyscore(self.key, "-inf", now)

    def close(self, token_id: str) -> None:
        """A logout: the token stops working on every exporter on this store."""
        self.client.zrem(self.key, token_id)

    def is_open(self, token_id: str) -> bool:
        return self.client.zscore(self.key, token_id) is not None


class WindowStore:
    """Maintenance windows, by id; every exporter reads the same ones with its snapshot."""

    def __init__(self, space: KeySpace) -> None:
        self.client, self.key = space.client, space.maintenance

    def put(self, window: MaintenanceWindow) -> None:
        self.client.hset(self.key, window.id, window.to_json())

    def drop(self, ids: list[str]) -> None:
        if ids:
            self.client.hdel(self.key, *ids)


class ReceiverRoll:
    """Which receiver processes are alive: each announces itself, by Redis' own clock."""

    def __init__(self, space: KeySpace, before: Callable[[], None]) -> None:
        self.key = space.receivers
        self._announce = space.script(ANNOUNCE_SCRIPT)
        self._before = before  # the writer's check for a connection Redis closed

    def announce(self, receiver: str, ttl: float) -> None:
        """``receiver`` is alive now; entries older than ``ttl`` go."""
        self._before()
        self._announce(keys=[self.key], args=[receiver, ttl])
