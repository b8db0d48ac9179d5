"""The exporter's app factory: ``/metrics`` from a private registry, health, and the status API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, jsonify, request
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from exporter.metrics.collector import HeartbeatCollector
from exporter.metrics.exposition import negotiate
from exporter.sql.database import make_engine
from exporter.sql.probe import DatabaseProbe
from exporter.sql.schema import database_label
from exporter.sql.traffic import TrafficCounter
from exporter.state.history import StateHistory
from exporter.state.pipeline import EdgeRates, PipelineView
from exporter.state.rollup import make_rollup
from exporter.state.watch import IngestWatch
from exporter.state.window import WindowCounter
from exporter.web import events, maintenance_api, security, status_api
from exporter.web.auth import Authenticator
from exporter.web.security import ScraperGate
from exporter.worker import Worker
from heartbeat_core.config import Settings
from heartbeat_core.store import HeartbeatStore, make_store
from heartbeat_core.web import json_errors, openapi

PACKAGE = Path(__file__).parents[1]
STATIC = PACKAGE / "static"


@dataclass
class Exporter:
    """Everything one exporter process holds; kept on ``app.extensions['exporter']``."""

    settings: Settings
    watch: IngestWatch
    probe: DatabaseProbe | None
    traffic: TrafficCounter | None
    worker: Worker | None
    registry: CollectorRegistry
    clock: Callable[[], float]
    auth: Authenticator
    engine: Engine | None
    pipeline: PipelineView
    windows: WindowCounter | None = None


def build(
    settings: Settings, *, store: HeartbeatStore | None = None, clock: Callable[[], float] = time.time
) -> Exporter:
    store = store or make_store(settings)
    history = StateHistory(store.client, settings.redis_key_prefix, settings.rollup_retention)
    watch = IngestWatch(store, settings, clock, history)
    probe = traffic = worker = engine = windows = None
    rates = EdgeRates(window=max(300.0, settings.poll_interval * 4))
    if settings.database_url:
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
        rollup = make_rollup(store.client, settings)
        windows = WindowCounter(engine, settings.tables, rollup)
        worker = Worker(probe, traffic, settings.poll_interval, rates, clock, rollup)
    pipeline = PipelineView(settings.pipeline, settings.service_types, probe, rates)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        HeartbeatCollector(
            watch, settings.service_types, probe, traffic, settings.poll_interval, clock, pipeline
        )
    )
    auth = Authenticator(
        settings.users,
        settings.secret_key,
        settings.token_ttl_seconds,
        watch.store,
        clock,
        settings.login_failures_per_minute,
    )
    return Exporter(settings, watch, probe, traffic, worker, registry, clock, auth, engine, pipeline, windows)


def create_app(
    settings: Settings,
    *,
    store: HeartbeatStore | None = None,
    clock: Callable[[], float] = time.time,
    start_worker: bool = True,
) -> Flask:
    exporter = build(settings, store=store, clock=clock)
    if start_worker and exporter.worker is not None:
        exporter.worker.start()
    app = Flask("exporter", static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["exporter"] = exporter
    json_errors.register(app)
    security.register(app)
    scraper = ScraperGate(settings.metrics_auth)
    app.register_blueprint(status_api.bp)
    app.register_blueprint(maintenance_api.bp)
    app.register_blueprint(events.bp)
    openapi.register(app, openapi.load(PACKAGE / "openapi.yaml"))

    @app.get("/")
    def index() -> Response:
        return app.send_static_file("index.html")

    @app.get("/metrics")
    def metrics() -> Response:
        scraper.check(request.headers.get("Authorization"))
        body, headers = negotiate(
            exporter.registry, request.headers.get("Accept", ""), request.headers.get("Accept-Encoding", "")
        )
        return Response(body, headers={**headers, "Vary": "Accept, Accept-Encoding"})

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
