"""What the exporter sees, and whether it can trust its eyes: the store, and blind spells.

Ingest is *blind* while heartbeats cannot reach the store: the store cannot be read, no receiver
has announced itself within ``receiver_ttl`` (they are gone, or Redis refuses their writes), or
the fleet fell silent all at once, which is far likelier a network or load-balancer fault than a
mass death. A blind spell is recorded in the store when it starts and ends, so that every
exporter, and this one after a restart, keeps services ``unknown`` for a timeout after it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from heartbeat_core.config import Settings
from heartbeat_core.outage import Outage
from heartbeat_core.record import ServiceRecord
from heartbeat_core.status import Conditions, ServiceView, service_views
from heartbeat_core.store import HeartbeatStore, Snapshot

if TYPE_CHECKING:
    from exporter.state.history import StateHistory
    from exporter.state.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """One read of the store and what the monitor knows about itself at that instant."""

    snapshot: Snapshot | None
    conditions: Conditions
    now: float
    silent: bool = False  # the fleet fell silent together
    views: tuple[ServiceView, ...] = ()  # each service's state by the one status rule, at ``now``


class StoreReader:
    """Reads the store for scrapes and status calls, and keeps the record of blind spells."""

    def __init__(
        self,
        store: HeartbeatStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        history: StateHistory | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.store = store
        self.history = history
        self.ledger = ledger
        self._history_outage = Outage(log, "cannot record state changes")
        self._ledger_outage = Outage(log, "cannot record availability", "availability is recorded again")
        self.settings = settings
        self.clock = clock
        self.errors = 0
        self._lock = threading.Lock()
        self._since: float | None = None  # the spell this exporter sees now
        self._last: tuple[float, float] | None = None  # the last spell this exporter saw end
        self._silent_since: float | None = None
        self._silent_fleet: frozenset[str] = frozenset()  # the proven services the spell began with
        self._outage = Outage(log, "cannot read the heartbeat store", "the heartbeat store can be read again")
        self._recent: Reading | None = None
        self._reading = threading.Lock()  # one read of the store at a time; the others share it

    def read(self) -> Reading:
        """The store as of at most ``snapshot_cache_seconds`` ago.

        Every scrape and status call costs Redis a whole snapshot (a script that blocks the
        receivers' writes while it runs); calls that come together share one.
        """
        with self._reading:
            recent = self._recent
            if recent is not None and 0 <= self.clock() - recent.now < self.settings.snapshot_cache_seconds:
                return recent
            self._recent = self._read()
            self._remember(self._recent)
            return self._recent

    def forget(self) -> None:
        """The store just changed through this exporter (a maintenance window): read it afresh."""
        with self._reading:
            self._recent = None

    def _remember(self, reading: Reading) -> None:
        """Hand the states to the history and the ledger, which write only the changes."""
        if reading.snapshot is None:
            return
        if self.history is not None:
            try:
                self.history.observe(((v.record.name, v.state.value) for v in reading.views), reading.now)
            except Exception as exc:
                self._history_outage.failed(exc)
            else:
                self._history_outage.ok()
        if self.ledger is not None:
            try:
                self.ledger.observe(reading.views, reading.conditions, reading.now)
            except Exception as exc:
                self._ledger_outage.failed(exc)
            else:
                self._ledger_outage.ok()

    def _read(self) -> Reading:
        try:
            snapshot: Snapshot | None = self.store.snapshot(self.settings.receiver_ttl)
        except Exception as exc:  # redis down, timeout, cluster moved: all mean "cannot read now"
            with self._lock:
                self.errors += 1
            # an outage is reported once, not at every scrape; heartbeat_store_read_errors_total counts
            self._outage.failed(exc)
            snapshot = None
        else:
            self._outage.ok()
        with self._lock:
            now = self.clock()
            silent = snapshot is not None and self._silent(snapshot.services, now)
            blind = snapshot is None or snapshot.receivers == 0 or silent
            self._note_spell(blind, now, snapshot is not None)
            spells = [self._last, snapshot.last_spell if snapshot is not None else None]
        # the store's record covers other exporters and this one's restarts: the latest spell counts
        last = max((s for s in spells if s is not None), key=lambda s: s[1], default=None)
        conditions = Conditions(
            blind=blind,
            blind_since=last[0] if last else None,
            blind_until=last[1] if last else None,
            windows=snapshot.windows if snapshot is not None else (),
            late_factor=self.settings.late_factor,
        )
        views = (
            ()
            if snapshot is None
            else tuple(service_views(snapshot.services, self.settings.service_types, now, conditions))
        )
        return Reading(snapshot, conditions, now, silent, views)

    def _note_spell(self, blind: bool, now: float, readable: bool) -> None:
        """Note a spell's start and end, here and (when it can be written) in the store."""
        if blind and self._since is None:
            self._since = now
            log.warning("ingest is blind: services are unknown until heartbeats can arrive again")
            self._write(now, None, readable)
        elif not blind and self._since is not None:
            self._last = (self._since, now)
            log.info("ingest can see again; services stay unknown until they beat or a timeout passes")
            self._write(self._since, now, readable)
            self._since = None

    def _write(self, since: float, until: float | None, readable: bool) -> None:
        if not readable:
            return  # written when the spell ends, once the store is back
        try:
            self.store.mark_blind(since, until)
        except Exception as exc:
            log.warning("cannot record the blind spell in the store: %s", exc)

    def _silent(self, services: Sequence[ServiceRecord], now: float) -> bool:
        """Most of the proven fleet quiet together: far likelier an ingest fault than a mass death.

        Only services first seen ``silence_proven_after`` ago count, and quiet means silent past
        the type's ``late_after`` (configuration's, not the interval a sender declares), so that
        names a sender made up minutes ago cannot make a fleet; and most senders (addresses) must
        be quiet too, so that one sender's names, however old, cannot. The spell lasts until enough of
        its fleet beats again, or ``silence_max_seconds`` at most: the evidence ages out.
        """
        settings, types = self.settings, self.settings.service_types
        if self._silent_since is not None:
            back = sum(
                1 for r in services if r.last_seen > self._silent_since and r.name in self._silent_fleet
            )
            needed = max(1, math.ceil((1 - settings.silence_fraction) * len(self._silent_fleet)))
            if back < needed and now - self._silent_since <= settings.silence_max_seconds:
                return True
            self._silent_since = None
        fleet = [
            r
            for r in services
            if not r.stopping
            and types.job(r.name, r.service_type, r.runs is not None) is None  # a job is quiet between runs
            and r.first_seen is not None
            and now - r.first_seen >= settings.silence_proven_after
            and now - r.last_seen <= types.timeout(r.service_type)
        ]
        hushed = {r.name for r in fleet if now - r.last_seen > types.get(r.service_type).late_after}
        # weighed by sender too: an address is quiet when every service it sends for is, so that
        # one sender's made-up names cannot outvote the fleet, even once they have a history
        senders: dict[str, bool] = {}
        for r in fleet:
            senders[r.address] = senders.get(r.address, True) and r.name in hushed
        fraction = settings.silence_fraction
        if (
            len(fleet) >= settings.silence_min_services
            and len(hushed) >= fraction * len(fleet)
            and sum(senders.values()) >= fraction * len(senders)
        ):
            self._silent_since = max(r.last_seen for r in fleet)
            self._silent_fleet = frozenset(r.name for r in fleet)
            return True
        return False
