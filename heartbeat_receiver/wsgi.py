"""The receiver as a WSGI app factory for servers that import it (``heartbeat_receiver.wsgi:app``).

Settings come from ``HEARTBEAT_CONFIG`` and the environment; ``heartbeat-receiver`` puts its
flags there before it starts the server's worker processes.
"""

from __future__ import annotations

from flask import Flask

from heartbeat_core.config import load_settings
from heartbeat_receiver.app import create_app


def app() -> Flask:
    return create_app(load_settings())
