"""Service types: which type a service belongs to, and how long it may stay silent.

One word names a service's type everywhere in the code: ``service_type`` (a string, as in the
metrics' label), and :class:`ServiceType` for its rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from heartbeat_core.job import Job, JobRule, Jobs, resolve
from heartbeat_core.suspicion import FIXED_DETECTION, Detection


@dataclass(frozen=True)
class Slo:
    """An availability objective: ``objective`` (a ratio) of judged time good over ``window`` s."""

    objective: float
    window: float
    window_text: str = "30d"


@dataclass(frozen=True)
class ServiceType:
    name: str
    prefixes: tuple[str, ...]
    timeout: float
    status_key: str
    # silence after which a service that declares no interval is late; 0: three quarters of the timeout
    late_after: float = 0.0
    min_up: int = 0  # fewer services up or late than this is a lost quorum (0: no quorum)
    stall_after: float = 300.0  # up, but no progress counter grew for this long: stalled
    failure_threshold: int = 1  # this many "failing" heartbeats in a row make a service failing
    max_lag: float = 0.0  # a watermark further behind than this is lagging (0: not judged)
    detection: Detection = FIXED_DETECTION  # fixed, shadow or adaptive (SPEC §17)
    slo: Slo | None = None  # SPEC §16: burn-rate pages and an error budget

    def __post_init__(self) -> None:
        if not self.late_after:
            object.__setattr__(self, "late_after", self.timeout * 0.75)


DEFAULT_TYPES: tuple[ServiceType, ...] = (
    ServiceType("data_collection", ("数据采集", "data-collection", "collector"), 120.0, "data_collection"),
    ServiceType("kafka", ("kafka",), 120.0, "kafka_process"),
    ServiceType("redis", ("redis",), 60.0, "redis"),
    ServiceType("backend", ("后端", "backend"), 60.0, "backend"),
    ServiceType("frontend", ("前端", "frontend"), 60.0, "frontend"),
    ServiceType("other", (), 120.0, "other"),
)

OTHER = "other"


class ServiceTypes:
    """Classifies service names; the last type is always the catch-all ``other``."""

    def __init__(
        self,
        types: tuple[ServiceType, ...],
        codes: Mapping[int, str],
        jobs: Mapping[str, JobRule] = MappingProxyType({}),
    ) -> None:
        self.all = types
        self.jobs = Jobs(jobs)
        self.by_name: Mapping[str, ServiceType] = MappingProxyType({t.name: t for t in types})
        self.codes: Mapping[int, str] = MappingProxyType(dict(codes))
        # casefold once: prefixes are matched case-insensitively on every heartbeat
        self._prefixes = tuple((prefix.casefold(), t.name) for t in types for prefix in t.prefixes)

    def explicit(self, declared: str | int | None) -> str | None:
        """The type a heartbeat names itself, if it is one we know."""
        if isinstance(declared, str):
            if declared in self.by_name:
                return declared
            digits = declared.strip()
            if digits.removeprefix("-").isascii() and digits.removeprefix("-").isdecimal():
                declared = int(digits)
        if isinstance(declared, int):
            return self.codes.get(declared)
        return None

    def by_prefix(self, name: str) -> str:
        folded = name.casefold()
        for prefix, service_type in self._prefixes:
            if folded.startswith(prefix):
                return service_type
        return OTHER

    def classify(self, name: str, declared: str | int | None = None) -> str:
        """An explicit known type wins; otherwise the first matching prefix; else ``other``."""
        return self.explicit(declared) or self.by_prefix(name)

    def get(self, service_type: str) -> ServiceType:
        """The rules of a type; ``other``'s for a type no longer configured (records outlive config)."""
        return self.by_name.get(service_type) or self.by_name[OTHER]

    def timeout(self, service_type: str) -> float:
        return self.get(service_type).timeout

    def job(self, name: str, service_type: str, has_runs: bool = False) -> Job | None:
        """A service's job rules: under ``jobs:``, or having sent a run (``has_runs``); else None."""
        rule = self.jobs.rule(name, service_type)
        if rule is None and not has_runs:
            return None
        rules = self.get(service_type)
        return resolve(rule, rules.timeout, rules.failure_threshold)

    def outrun_by(self, receiver_ttl: float) -> list[str]:
        """Types whose services could go down before a dead receiver is noticed."""
        return [
            f"type {t.name}: its timeout ({t.timeout:g} s) is not longer than receiver_ttl "
            f"({receiver_ttl:g} s), so its services can go down before a dead receiver is noticed; "
            "raise the timeout or lower receiver_ttl"
            for t in self.all
            if t.timeout <= receiver_ttl
        ]
