"""Heartbeat exporter: Prometheus metrics and the status API, read from the receiver's store."""

from exporter.app import create_app

__all__ = ["create_app"]
