"""Maintenance windows: a time span in which the services it covers are paused, not down.

A window covers services by type, by name prefix, or both (both must match when both are set).
Windows live in Redis (``{prefix}:maintenance``), so every exporter sees the same ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MaintenanceWindow:
    id: str
    start: float
    end: float
    service_type: str | None = None
    service_prefix: str | None = None
    reason: str = ""

    def covers(self, name: str, service_type: str) -> bool:
        """Whether the window is about this service (at any time)."""
        if self.service_type is not None and self.service_type != service_type:
            return False
        return self.service_prefix is None or name.casefold().startswith(self.service_prefix.casefold())

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> MaintenanceWindow | None:
        try:
            fields = json.loads(raw)
            return cls(**fields)
        except (ValueError, TypeError):
            return None  # a damaged entry is skipped, never fatal to a scrape
