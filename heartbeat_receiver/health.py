"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from heartbeat_receiver.store import HeartbeatStore

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    store: HeartbeatStore = current_app.extensions["heartbeat_store"]
    store.ping()  # a redis error becomes a 503 with Retry-After
    return jsonify(status="ready")
