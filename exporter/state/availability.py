"""Time classes (SPEC §16): which way each second of a service and of a type counts, and since when.

A read of the store gives each service's state *now*; the ledger wants the instant each state
began, to the second, whenever the exporter happened to read. :func:`began_at` finds it among
the instants at which the status rule can change its answer (a beat, a timeout after it, a blind
spell's ends, a window's ends), judging the record as it stands at each. :class:`Sweep` then
replays the read's changes in time order, so that the type figures and the *caused upstream*
attribution see every service as it was at each instant, not as the read found them together.

=====  ==========================================================================================
g      good: up, late, running
b      bad: down, failing, the service's own fault
c:T    bad while type T, upstream of its type in ``topology``, was down as a whole (§9's condition
       for holding its pages): T's fault, left out of the service's ``own_availability``
p      paused: goodbye, maintenance (excluded)
u      unknown: the monitor was blind (excluded)
x      gone: no longer in the store (not counted)
=====  ==========================================================================================

A type's class: bad when any of its services is bad (``c:T`` when all of those are T's fault),
else good when any is good, else paused, else unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from heartbeat_core.status import Conditions, ServiceView, State, assess
from heartbeat_core.topology import Topology
from heartbeat_core.types import ServiceTypes

GOOD, BAD, PAUSED, UNKNOWN, GONE = "g", "b", "p", "u", "x"
CAUSED = "c:"
CLASS_OF = {
    State.UP: GOOD,
    State.LATE: GOOD,
    State.RUNNING: GOOD,
    State.DOWN: BAD,
    State.FAILING: BAD,
    State.PAUSED: PAUSED,
    State.UNKNOWN: UNKNOWN,
}
EPSILON = 0.001  # the status rule's boundaries are strict: judge just after each candidate


def is_bad(time_class: str) -> bool:
    return time_class == BAD or time_class.startswith(CAUSED)


def type_down(counts: Mapping[State, int], min_up: int) -> bool:
    """A type down as a whole: none alive and some down, or fewer up or late than its quorum (§9)."""
    alive = counts.get(State.UP, 0) + counts.get(State.LATE, 0)
    return (alive == 0 and counts.get(State.DOWN, 0) > 0) or alive < min_up


def began_at(
    view: ServiceView, types: ServiceTypes, conditions: Conditions, after: float, now: float
) -> float:
    """The earliest instant in ``[after, now]`` since which the record has been in its state now.

    The record may have changed since ``after`` only by the beats that made it (its
    ``last_seen``), so judging it as it stands is right back to its last beat. ``after`` itself
    may be the instant: the rule's boundaries are strict, so a read exactly at a timeout saw
    the state before it.
    """
    record, timeout = view.record, view.timeout
    late = types.get(record.service_type).late_after
    instants = {record.last_seen, record.last_seen + timeout, record.last_seen + late}
    if record.interval:
        instants.add(record.last_seen + record.interval * conditions.late_factor)
    for edge in (conditions.blind_since, conditions.blind_until):
        if edge is not None:
            instants |= {edge, edge + timeout}
    for window in conditions.windows:
        instants |= {window.start, window.end, window.end + timeout}
    if view.job is not None:
        due = view.job.next_run_due(record.last_seen)
        instants |= {due, due + view.job.grace}
    since, low = now, max(after, record.last_seen)  # before its last beat the record was another
    for instant in sorted((i for i in instants if low <= i < now), reverse=True):
        if assess(record, types, min(instant + EPSILON, now), conditions).state != view.state:
            break
        since = instant
    return round(since, 3)


@dataclass(frozen=True)
class Change:
    """An entity's new class from ``time``; for a service, the incident it joins when bad."""

    time: float
    entity: str  # "s\tname" or "t\ttype"
    time_class: str
    service_type: str
    incident_type: str = ""  # the type whose incident a bad service joins: its root's, or its own
    state: str = ""


@dataclass
class Sweep:
    """Every service's state and class, replayed change by change in time order."""

    types: ServiceTypes
    topology: Topology
    states: dict[str, State] = field(default_factory=dict)
    service_type: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)  # entity -> its class now

    def __post_init__(self) -> None:
        self._counts: dict[str, Counter[State]] = {}
        self._classes_of: dict[str, Counter[str]] = {}
        self._roots: dict[str, str] = {}
        # each type's upstream types, nearest first, transitively
        self._upstream = {
            node: tuple(t for t in self._reach(node) if t in self.types.by_name)
            for node in self.topology.nodes
        }

    def _reach(self, node: str) -> list[str]:
        found: list[str] = []
        frontier = list(self.topology.upstream(node))
        while frontier:
            current = frontier.pop(0)
            if current not in found and current != node:
                found.append(current)
                frontier.extend(self.topology.upstream(current))
        return found

    def load(self, classes: Mapping[str, str], service_types: Mapping[str, str]) -> None:
        """Resume from the ledger's classes (a restart): states are unknown until the first read."""
        self.classes = dict(classes)
        self.service_type = dict(service_types)
        for entity, time_class in classes.items():
            if entity.startswith("s\t"):
                self._count_class(service_types.get(entity[2:], ""), time_class, +1)

    def apply(self, changes: Iterable[tuple[float, str, str, State | None]]) -> list[Change]:
        """``(time, name, type, state or None when gone)``, in any order → the ledger's changes."""
        out: list[Change] = []
        ordered = sorted(changes, key=lambda c: c[0])
        i = 0
        while i < len(ordered):
            t = ordered[i][0]
            touched: set[str] = set()
            while i < len(ordered) and ordered[i][0] == t:
                _, name, service_type, state = ordered[i]
                self._move(name, service_type, state)
                touched.add(name)
                i += 1
            out += self._reclassify(t, touched)
        return out

    def _move(self, name: str, service_type: str, state: State | None) -> None:
        before = self.states.pop(name, None)
        old_type = self.service_type.get(name)
        if before is not None and old_type is not None:
            self._counts[old_type][before] -= 1
        if state is None:
            return
        self.states[name] = state
        self.service_type[name] = service_type
        self._counts.setdefault(service_type, Counter())[state] += 1

    def _root_of(self, service_type: str, down: set[str]) -> str | None:
        """The furthest upstream type down as a whole: the page's root, whom its casualties blame."""
        candidates = [t for t in self._upstream.get(service_type, ()) if t in down]
        return candidates[-1] if candidates else None

    def _reclassify(self, t: float, touched: set[str]) -> list[Change]:
        down = {
            name for name, counts in self._counts.items() if type_down(counts, self.types.get(name).min_up)
        }
        roots = {name: root for name in self._counts if (root := self._root_of(name, down)) is not None}
        moved = {name for name in set(roots) | set(self._roots) if roots.get(name) != self._roots.get(name)}
        self._roots = roots
        names = set(touched)
        if moved:
            names |= {
                n for n, s in self.states.items() if self.service_type[n] in moved and CLASS_OF[s] == BAD
            }
        out: list[Change] = []
        types_touched: set[str] = set()
        for name in sorted(names):
            state = self.states.get(name)
            service_type = self.service_type.get(name, "")
            new = GONE if state is None else CLASS_OF[state]
            root = roots.get(service_type)
            if new == BAD and root is not None:
                new = CAUSED + root
            entity = "s\t" + name
            old = self.classes.get(entity)
            if old == new:
                continue
            self._count_class(service_type, old, -1)
            self._count_class(service_type, new, +1)
            self.classes[entity] = new
            types_touched.add(service_type)
            incident = (root or service_type) if is_bad(new) else ""
            out.append(Change(t, entity, new, service_type, incident, state.value if state else ""))
        for service_type in sorted(types_touched):
            new = self._type_class(service_type)
            entity = "t\t" + service_type
            if self.classes.get(entity) != new:
                self.classes[entity] = new
                out.append(Change(t, entity, new, service_type))
        return out

    def _count_class(self, service_type: str, time_class: str | None, n: int) -> None:
        if time_class is not None:
            self._classes_of.setdefault(service_type, Counter())[time_class] += n

    def _type_class(self, service_type: str) -> str:
        counts = self._classes_of.get(service_type, Counter())
        caused = sorted(k for k, n in counts.items() if n > 0 and k.startswith(CAUSED))
        if counts[BAD] > 0:
            return BAD
        if caused:
            return caused[0]
        for time_class in (GOOD, PAUSED, UNKNOWN):
            if counts[time_class] > 0:
                return time_class
        return GONE
