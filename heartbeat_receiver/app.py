"""The receiver's app factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from heartbeat_core.config import Settings
from heartbeat_core.fields import Limits, openapi_properties
from heartbeat_core.store import HeartbeatStore, make_store
from heartbeat_core.web import json_errors, openapi
from heartbeat_receiver import routes
from heartbeat_receiver.fastpath import FastHeartbeats
from heartbeat_receiver.ingest import Ingest
from heartbeat_receiver.presence import Presence


def document() -> dict[str, Any]:
    """The receiver's OpenAPI document, the heartbeat's properties from their declarations."""
    return openapi.load(Path(__file__).with_name("openapi.yaml"), {"Heartbeat": openapi_properties()})


def create_app(
    settings: Settings,
    *,
    store: HeartbeatStore | None = None,
    clock: Callable[[], float] = time.time,
    fast_path: bool = True,
) -> Flask:
    """``fast_path``: answer heartbeats in plain WSGI in front of Flask (the same ingest either way)."""
    app = Flask("heartbeat_receiver")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    store = store or make_store(settings, writer=True)
    ingest = Ingest(
        store,
        settings.service_types,
        clock,
        settings.max_body_bytes,
        settings.ingest_tokens,
        Limits(max_counters=settings.max_progress_counters),
    )
    app.extensions["heartbeat_store"] = store
    app.extensions["heartbeat_ingest"] = ingest
    app.extensions["heartbeat_presence"] = Presence(store, settings.receiver_ttl).start()
    if fast_path:
        app.wsgi_app = FastHeartbeats(app.wsgi_app, ingest)  # type: ignore[method-assign]
    if settings.trusted_proxies:  # outermost, so that the fast path sees the client's address too
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    json_errors.register(app)
    app.register_blueprint(routes.bp)
    openapi.register(app, document())
    return app
