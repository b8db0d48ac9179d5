"""The exporter as app factories for servers that import it.

``exporter.wsgi:app`` is the WSGI app; ``exporter.wsgi:rsgi`` is what ``heartbeat-exporter``
serves: the same app behind the RSGI adapter, so that clients that send slowly hold no thread.
Settings come from ``HEARTBEAT_CONFIG`` and the environment; ``heartbeat-exporter`` puts its
flags there before it starts the server's worker process.
"""

from __future__ import annotations

from flask import Flask

from exporter.web.app import create_app
from exporter.web.host import ExporterApp
from heartbeat_core.config import Settings, load_settings
from heartbeat_core.web.bridge import WsgiOnRsgi


def app() -> Flask:
    flask = create_app(load_settings())
    flask.exporter.start()
    return flask


def rsgi() -> WsgiOnRsgi:
    settings = load_settings()
    flask = create_app(settings)
    flask.exporter.start()
    return on_rsgi(flask, settings)


def on_rsgi(flask: ExporterApp, settings: Settings) -> WsgiOnRsgi:
    """The app behind the RSGI adapter: bodies read on the event loop, the app on a thread pool."""
    return WsgiOnRsgi(
        flask.wsgi_app,
        threads=settings.threads,
        client_timeout=settings.client_timeout,
        max_body=int(flask.config["MAX_CONTENT_LENGTH"]),
        own_threads=frozenset({"/metrics", "/healthz"}),  # status calls never hold up a scrape
        on_stop=flask.exporter.stop,
    )
