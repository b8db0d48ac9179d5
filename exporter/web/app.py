"""The exporter's app factory: ``/metrics`` from a private registry, health, and the status API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Response, jsonify, request

from exporter.context import Exporter, build
from exporter.metrics.exposition import negotiate
from exporter.web import alerts_api, availability_api, events, maintenance_api, security, status_api
from exporter.web.host import ExporterApp
from exporter.web.security import ScraperGate
from heartbeat_core.config import Settings
from heartbeat_core.fields import status_properties
from heartbeat_core.status import STATES
from heartbeat_core.store import HeartbeatStore
from heartbeat_core.web import json_errors, openapi

PACKAGE = Path(__file__).parents[1]
STATIC = PACKAGE / "static"


def create_app(
    settings: Settings, *, store: HeartbeatStore | None = None, clock: Callable[[], float] = time.time
) -> ExporterApp:
    """The app over a freshly built exporter; its worker is not started (see :meth:`Exporter.start`)."""
    return app_for(build(settings, store=store, clock=clock))


def service_entry() -> dict[str, Any]:
    """The status API's service entry as the document is served: its state, and the fields shown."""
    return {"state": {"type": "string", "enum": [s.value for s in STATES]}, **status_properties()}


def app_for(exporter: Exporter) -> ExporterApp:
    settings = exporter.settings
    app = ExporterApp(exporter, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    json_errors.register(app)
    security.register(app)
    scraper = ScraperGate(settings.metrics_auth)
    for routes in (status_api, maintenance_api, events, alerts_api, availability_api):
        app.register_blueprint(routes.bp)
    openapi.register(app, openapi.load(PACKAGE / "openapi.yaml", {"ServiceEntry": service_entry()}))

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
