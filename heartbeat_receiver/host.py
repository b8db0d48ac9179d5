"""The receiver's Flask app, typed: its views reach its parts through :func:`current`."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app

from heartbeat_core.store import HeartbeatStore
from heartbeat_receiver.ingest import Ingest
from heartbeat_receiver.presence import Presence
from heartbeat_receiver.token import PushTokens


class ReceiverApp(Flask):
    """The receiver's Flask app, typed: its parts are attributes, not a dictionary of extensions."""

    def __init__(
        self, store: HeartbeatStore, ingest: Ingest, presence: Presence, push_tokens: PushTokens
    ) -> None:
        super().__init__("heartbeat_receiver")
        self.store = store
        self.ingest = ingest
        self.presence = presence
        self.push_tokens = push_tokens


def current() -> ReceiverApp:
    """The receiver app handling the request."""
    return cast(ReceiverApp, current_app)
