"""Service types: which type a service belongs to, and how long it may stay silent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class TypeRule:
    label: str
    prefixes: tuple[str, ...]
    timeout: float
    status_key: str


DEFAULT_TYPES: tuple[TypeRule, ...] = (
    TypeRule("data_collection", ("数据采集", "data-collection", "collector"), 120.0, "data_collection"),
    TypeRule("kafka", ("kafka",), 120.0, "kafka_process"),
    TypeRule("redis", ("redis",), 60.0, "redis"),
    TypeRule("backend", ("后端", "backend"), 60.0, "backend"),
    TypeRule("frontend", ("前端", "frontend"), 60.0, "frontend"),
    TypeRule("other", (), 120.0, "other"),
)

OTHER = "other"


class TypeRules:
    """Classifies service names; the last rule is always the catch-all ``other``."""

    def __init__(self, rules: tuple[TypeRule, ...], codes: Mapping[int, str]) -> None:
        self.rules = rules
        self.by_label: Mapping[str, TypeRule] = MappingProxyType({r.label: r for r in rules})
        self.codes: Mapping[int, str] = MappingProxyType(dict(codes))
        # casefold once: prefixes are matched case-insensitively on every heartbeat
        self._prefixes = tuple((prefix.casefold(), rule.label) for rule in rules for prefix in rule.prefixes)

    def explicit(self, declared: str | int | None) -> str | None:
        """The type a heartbeat names itself, if it is one we know."""
        if isinstance(declared, str):
            if declared in self.by_label:
                return declared
            if declared.strip().lstrip("-").isdigit():
                declared = int(declared)
        if isinstance(declared, int):
            return self.codes.get(declared)
        return None

    def by_prefix(self, name: str) -> str:
        folded = name.casefold()
        for prefix, label in self._prefixes:
            if folded.startswith(prefix):
                return label
        return OTHER

    def classify(self, name: str, declared: str | int | None = None) -> str:
        """An explicit known type wins; otherwise the first matching prefix; else ``other``."""
        return self.explicit(declared) or self.by_prefix(name)

    def timeout(self, label: str) -> float:
        rule = self.by_label.get(label) or self.by_label[OTHER]
        return rule.timeout
