"""The receiver's app factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heartbeat_core.config import Settings
from heartbeat_core.fields import Limits, openapi_properties
from heartbeat_core.store import HeartbeatStore, make_store
from heartbeat_core.web import json_errors, openapi
from heartbeat_receiver import compat, routes
from heartbeat_receiver.host import ReceiverApp
from heartbeat_receiver.ingest import Ingest
from heartbeat_receiver.presence import Presence
from heartbeat_receiver.token import PushTokens


def document() -> dict[str, Any]:
    """The receiver's OpenAPI document, the heartbeat's properties from their declarations."""
    return openapi.load(Path(__file__).with_name("openapi.yaml"), {"Heartbeat": openapi_properties()})


def create_app(
    settings: Settings,
    *,
    store: HeartbeatStore | None = None,
    clock: Callable[[], float] = time.time,
) -> ReceiverApp:
    """The app; its presence announcements start with it (a receiver app that exists is alive)."""
    store = store or make_store(settings, writer=True)
    ingest = Ingest(
        store,
        settings.service_types,
        clock,
        settings.max_body_bytes,
        settings.max_batch_bytes,
        settings.ingest_tokens,
        Limits(max_counters=settings.max_progress_counters, max_metrics=settings.max_metrics),
        settings.trusted_proxies,
        settings.signature_tolerance,
    )
    presence = Presence(store, settings.receiver_ttl).start()
    app = ReceiverApp(store, ingest, presence, PushTokens(settings.push_tokens))
    # the largest body a route other than the heartbeats' own takes: a ping's
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_body_bytes, compat.PING_BODY)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    json_errors.register(app)
    app.register_blueprint(routes.bp)
    app.register_blueprint(compat.bp)
    openapi.register(app, document())
    return app
