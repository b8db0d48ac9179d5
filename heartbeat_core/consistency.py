"""What no one key can check alone: names that must agree across the configuration.

Every problem is collected, so that ``--check-config`` reports them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from heartbeat_core.reporting import PublicSpec
from heartbeat_core.sections import IngestToken, TableSpec, table_problems
from heartbeat_core.topology import DATABASE, Topology
from heartbeat_core.types import ServiceTypes


class Configured(Protocol):
    """The parts of ``Settings`` that must agree (a protocol: the settings import this module)."""

    @property
    def type_codes(self) -> Mapping[int, str]: ...
    @property
    def service_types(self) -> ServiceTypes: ...
    @property
    def pipeline(self) -> Topology: ...
    @property
    def tables(self) -> Mapping[str, TableSpec]: ...
    @property
    def ingest_tokens(self) -> Sequence[IngestToken]: ...
    @property
    def max_services(self) -> int: ...
    @property
    def public(self) -> PublicSpec | None: ...


def consistency_problems(settings: Configured) -> list[str]:
    problems = [
        f"type_codes.{code}: unknown type {name!r}"
        for code, name in settings.type_codes.items()
        if name not in settings.service_types.by_name
    ]
    known = set(settings.service_types.by_name) | {DATABASE}
    problems += [f"topology: unknown node {node!r}" for node in settings.pipeline.nodes if node not in known]
    problems += table_problems(settings.tables)
    reserved = sum(token.reserve for token in settings.ingest_tokens)
    if reserved >= settings.max_services:
        problems.append(f"ingest_tokens: reserves {reserved} of max_services {settings.max_services}")
    if settings.public is not None:
        problems += [f"public.types: unknown type {t!r}" for t in settings.public.types if t not in known]
    return problems
