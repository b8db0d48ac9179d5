"""Everything one exporter process holds, built once from its settings.

The app's views and the entry points reach the parts through one typed object, never through a
dictionary of extensions. Building starts nothing: the entry points start the worker
(:meth:`Exporter.start`), so that importing or building an app in a test runs no thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from exporter.access.auth import Authenticator
from exporter.firing import FiringAlerts
from exporter.metrics.collector import collector_for
from exporter.sql.database import make_engine
from exporter.sql.probe import DatabaseProbe
from exporter.sql.schema import database_label
from exporter.sql.traffic import TrafficCounter
from exporter.state.figures import LedgerReader
from exporter.state.history import StateHistory
from exporter.state.ledger import Ledger
from exporter.state.pipeline import EdgeRates, PipelineView
from exporter.state.reader import StoreReader
from exporter.state.rollup import make_rollup
from exporter.state.status_view import StatusView
from exporter.state.window import WindowCounter
from exporter.worker import Worker
from heartbeat_core.config import Settings
from heartbeat_core.store import HeartbeatStore, make_store


@dataclass(frozen=True, kw_only=True)
class Exporter:
    settings: Settings
    clock: Callable[[], float]
    reader: StoreReader
    registry: CollectorRegistry
    auth: Authenticator
    pipeline: PipelineView
    status_view: StatusView  # the status API's answer, from one reading
    ledger: LedgerReader  # availability and incidents (SPEC §16)
    engine: Engine | None = None
    probe: DatabaseProbe | None = None
    traffic: TrafficCounter | None = None
    windows: WindowCounter | None = None
    worker: Worker | None = None
    alerts: FiringAlerts | None = None  # with ``alertmanager_url``: what pages now
    # status answers computed at once (the rest wait): the status API's share of the CPU
    status_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))

    def start(self) -> Exporter:
        """Start the background work (probe, traffic poll, rollup); the entry points call this."""
        if self.worker is not None:
            self.worker.start()
        return self

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()


def build(
    settings: Settings, *, store: HeartbeatStore | None = None, clock: Callable[[], float] = time.time
) -> Exporter:
    store = store or make_store(settings)
    history = StateHistory(store.space, settings.rollup_retention)
    ledger = Ledger(store.space, settings.service_types, settings.pipeline, settings.availability_retention)
    reader = StoreReader(store, settings, clock, history, ledger)
    rates = EdgeRates(window=max(300.0, settings.poll_interval * 4))
    sql = _sql_parts(settings, store, clock, rates) if settings.database_url else SqlParts()
    probe = sql.get("probe")
    pipeline = PipelineView(settings.pipeline, settings.service_types, probe, rates)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        collector_for(
            reader,
            settings.service_types,
            pipeline,
            probe,
            sql.get("traffic"),
            settings.poll_interval,
            settings.max_staleness,
            settings.state_series == "all",
        )
    )
    auth = Authenticator(
        settings.users,
        settings.secret_key,
        settings.token_ttl_seconds,
        store.sessions,
        clock,
        settings.login_failures_per_minute,
    )
    alerts = FiringAlerts(settings.alertmanager_url, clock) if settings.alertmanager_url else None
    return Exporter(
        settings=settings,
        clock=clock,
        reader=reader,
        registry=registry,
        auth=auth,
        pipeline=pipeline,
        status_view=StatusView(
            settings.service_types,
            pipeline,
            history,
            probe,
            sql.get("windows"),
            settings.max_ips_per_edge,
        ),
        alerts=alerts,
        ledger=LedgerReader(store.space, settings.availability_retention),
        **sql,
    )


class SqlParts(TypedDict, total=False):
    engine: Engine
    probe: DatabaseProbe
    traffic: TrafficCounter
    windows: WindowCounter
    worker: Worker


def _sql_parts(
    settings: Settings, store: HeartbeatStore, clock: Callable[[], float], rates: EdgeRates
) -> SqlParts:
    """The parts that need the pipeline's database: engine, probe, traffic, windows, worker."""
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, settings.probe_timeout)
    probe = DatabaseProbe(engine, database_label(settings.database_url), settings.probe_timeout, clock)
    traffic = TrafficCounter(
        engine,
        settings.tables,
        settle_seconds=settings.settle_seconds,
        max_keys=settings.max_ips_per_edge,
        timeout=max(settings.probe_timeout, settings.poll_interval * 2),
        clock=clock,
        ip_labels=settings.traffic_ip_labels,
    )
    rollup = make_rollup(store.space, settings)
    return SqlParts(
        engine=engine,
        probe=probe,
        traffic=traffic,
        windows=WindowCounter(engine, settings.tables, rollup),
        worker=Worker(probe, traffic, settings.poll_interval, rates, clock, rollup),
    )
