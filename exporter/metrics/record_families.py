"""Families whose samples depend on a service's record alone, each declared once.

A record changes only when its service beats, and between two scrapes most of a large fleet has
not beaten (half of a fleet beating every 30 s, scraped every 15 s). So a service keeps its
lines of these families with its label sets (``ServiceLabels.kept``) until its record changes,
and a scrape formats only the services that beat since the last one (docs/benchmarks.md). What
depends on the time of the scrape (age, state, up, instances) is made every scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from exporter.metrics.exposition import Kept, ServiceLabels
from heartbeat_core.record import ServiceRecord

Build = Callable[[ServiceRecord, ServiceLabels], list[Sample]]  # one service's samples, from its record


class KeptLines:
    """The kept lines of a scrape's services, each as this scrape's loop found them, turned from
    one tuple per service into one per family in a single pass (``zip``), for all of the
    scrape's :class:`KeptFamily`."""

    def __init__(self, services: list[tuple[ServiceLabels, Kept]]) -> None:
        self.services = services
        self._columns: list[tuple[str, ...]] | None = None

    def column(self, slot: int) -> tuple[str, ...]:
        if self._columns is None:
            self._columns = list(zip(*[kept.lines for _, kept in self.services]))
        return self._columns[slot] if self._columns else ()


class KeptFamily(Metric):
    """A family whose samples depend on a service's record alone (last seen, received, what it
    reported): each service keeps its lines (``ServiceLabels.kept``) from one scrape to the next
    until it beats again, so a scrape formats only the services that beat since the last one.
    ``slot`` is this family's place in each service's kept lines; its samples are made again
    from the records only for a reader that asks."""

    def __init__(self, family: RecordFamily, lines: KeptLines, slot: int):
        self.build = family.samples
        self.lines = lines
        self.slot = slot
        super().__init__(family.name, family.documentation, family.kind)

    @property
    def samples(self) -> list[Sample]:
        build = self.build
        return [s for labels, kept in self.lines.services for s in build(kept.record, labels)]

    @samples.setter
    def samples(self, _: list[Sample]) -> None:
        pass  # Metric.__init__ sets an empty list: the services hold the samples

    def text(self) -> str:
        return "".join(self.lines.column(self.slot))


@dataclass(frozen=True)
class RecordFamily:
    name: str
    documentation: str
    kind: str  # gauge or counter
    samples: Build


def keep(families: Sequence[RecordFamily], record: ServiceRecord, labels: ServiceLabels) -> Kept:
    """The service's lines of ``families``, made again only when its record is a new one."""
    found = labels.kept
    if found is None or found.record is not record:
        found = labels.kept = Kept(record, [family.samples(record, labels) for family in families])
    return found


def kept_families(
    families: Sequence[RecordFamily], services: list[tuple[ServiceLabels, Kept]]
) -> list[KeptFamily]:
    """The scrape's families, written from the lines :func:`keep` gave each service."""
    lines = KeptLines(services)
    return [KeptFamily(family, lines, slot) for slot, family in enumerate(families)]
