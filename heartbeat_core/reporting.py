"""The configuration of how it has been (SPEC §16): a type's SLO, and the public status page."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from heartbeat_core.section_base import Section as _Section
from heartbeat_core.section_base import ServiceName, TypeName
from heartbeat_core.types import Slo


def _duration(value: str) -> float:
    return float(value[:-1]) * (86400 if value.endswith("d") else 3600)


class SloSpec(_Section):
    """A type's availability objective (SPEC §16): a percentage over a rolling window."""

    objective: float = Field(gt=0, lt=100, description="percent of judged time good, e.g. 99.9")
    window: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,2}[dh]$")] = "30d"

    def slo(self) -> Slo:
        return Slo(round(self.objective / 100, 9), _duration(self.window), self.window)


class PublicSpec(_Section):
    """The public status page (SPEC §16): what a logged-out visitor may see, and nothing else."""

    title: Annotated[str, Field(min_length=1, max_length=200)] = "Status"
    types: tuple[TypeName, ...] = ()
    services: tuple[ServiceName, ...] = ()
