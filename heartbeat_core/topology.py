"""The pipeline's topology: which service types feed which, declared once in configuration.

Nodes are service types, plus ``database`` (the probed pipeline database). The default is the
graph of SPEC §1. Alertmanager's inhibitions, the status API's ``pipeline`` section and the
dashboard's node graph are derived from it, so a user who adds a type and an edge gets them
without writing any by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DATABASE = "database"
DEFAULT_TOPOLOGY: tuple[tuple[str, str], ...] = (
    ("data_collection", "kafka"),
    ("kafka", DATABASE),
    (DATABASE, "backend"),
    ("redis", "backend"),
    ("backend", "frontend"),
)


@dataclass(frozen=True)
class Link:
    source: str
    target: str

    @property
    def name(self) -> str:
        """The traffic edge's name (``heartbeat_traffic_records_total{edge}``)."""
        return f"{self.source}_to_{self.target}"


class Topology:
    def __init__(self, links: Iterable[tuple[str, str]]) -> None:
        self.links = tuple(Link(a, b) for a, b in links)

    @property
    def nodes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for link in self.links:
            seen.setdefault(link.source)
            seen.setdefault(link.target)
        return tuple(seen)

    def downstream_links(self, node: str) -> tuple[Link, ...]:
        """Every link reachable from ``node``, nearest first (a link out of it counts too)."""
        found: list[Link] = []
        frontier = [node]
        while frontier:
            current = frontier.pop(0)
            for link in self.links:
                if link.source == current and link not in found:
                    found.append(link)
                    frontier.append(link.target)
        return tuple(found)

    def downstream_nodes(self, node: str) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(link.target for link in self.downstream_links(node) if link.target != node)
        )

    def upstream(self, node: str) -> tuple[str, ...]:
        return tuple(link.source for link in self.links if link.target == node)
