"""The exporter as a WSGI app factory for servers that import it (``exporter.wsgi:app``).

Settings come from ``HEARTBEAT_CONFIG`` and the environment; ``heartbeat-exporter`` puts its
flags there before it starts the server's worker process.
"""

from __future__ import annotations

from flask import Flask

from exporter.app import create_app
from heartbeat_core.config import load_settings


def app() -> Flask:
    return create_app(load_settings())
