"""The receiver's app factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from heartbeat_receiver import errors, health, heartbeat, openapi
from heartbeat_receiver.auth import require_token
from heartbeat_receiver.config import Settings
from heartbeat_receiver.fastpath import FastHeartbeats
from heartbeat_receiver.store import HeartbeatStore, RedisClient, connect


def make_store(
    settings: Settings, client: RedisClient | None = None, *, writer: bool = False
) -> HeartbeatStore:
    """The store; ``writer``: the receiver's, whose batched writes share one connection."""
    return HeartbeatStore(
        client or connect(settings.redis_url, cluster=settings.redis_cluster, single=writer),
        prefix=settings.redis_key_prefix,
        max_services=settings.max_services,
        retention_seconds=settings.retention_seconds,
    )


def create_app(
    settings: Settings,
    *,
    store: HeartbeatStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    app = Flask("heartbeat_receiver")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    store = store or make_store(settings, writer=True)
    app.extensions["heartbeat_store"] = store
    app.extensions["heartbeat_rules"] = settings.types
    app.extensions["heartbeat_clock"] = clock
    app.wsgi_app = FastHeartbeats(  # type: ignore[method-assign]
        app.wsgi_app, store, settings.types, clock, settings.max_body_bytes, settings.ingest_tokens
    )
    if settings.trusted_proxies:  # outermost, so that the fast path sees the client's address too
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    if settings.ingest_tokens:
        tokens = settings.ingest_tokens

        @app.before_request
        def _check_token() -> None:
            if request.blueprint == heartbeat.bp.name:
                require_token(tokens)

    errors.register(app)
    app.register_blueprint(heartbeat.bp)
    app.register_blueprint(health.bp)
    openapi.register(app, Path(__file__).with_name("openapi.yaml"))
    return app
