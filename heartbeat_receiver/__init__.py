"""Heartbeat receiver: services POST heartbeats, their last-seen time goes to Redis."""

from heartbeat_receiver.app import create_app

__all__ = ["create_app"]
