"""The receiver's Flask routes: ingest (the same one path as the fast path), liveness, readiness."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from heartbeat_core.store import HeartbeatStore
from heartbeat_receiver.ingest import Ingest, read_body

bp = Blueprint("receiver", __name__)


@bp.post("/heartbeat")
@bp.post("/heartbeat/report")
def receive() -> ResponseReturnValue:
    ingest: Ingest = current_app.extensions["heartbeat_ingest"]
    answer = ingest.accept(
        request.headers, read_body(request.environ, ingest.max_body), request.remote_addr or ""
    )
    return Response(answer.body, status=answer.status, headers=list(answer.headers))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    store: HeartbeatStore = current_app.extensions["heartbeat_store"]
    store.ping()  # a redis error becomes a 503 with Retry-After
    return jsonify(status="ready")
