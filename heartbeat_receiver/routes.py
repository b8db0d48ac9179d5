"""The receiver's Flask routes: ingest (the one path the RSGI server takes too), liveness, readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from heartbeat_core.web.body import read_body
from heartbeat_receiver import batch
from heartbeat_receiver.host import current

bp = Blueprint("receiver", __name__)


@bp.post("/heartbeat")
@bp.post("/heartbeat/report")
def receive() -> ResponseReturnValue:
    ingest = current().ingest
    body = read_body(request.environ, ingest.max_body)
    forwarded = request.headers.getlist("X-Forwarded-For")
    answer = ingest.accept(request.headers, body, request.remote_addr or "", forwarded)
    return Response(answer.body, status=answer.status, headers=list(answer.headers))


@bp.post(batch.PATH)
def receive_batch() -> ResponseReturnValue:
    ingest = current().ingest
    body = read_body(request.environ, ingest.max_batch)
    forwarded = request.headers.getlist("X-Forwarded-For")
    answer = batch.accept(ingest, request.headers, body, request.remote_addr or "", forwarded)
    return Response(answer.body, status=answer.status, headers=list(answer.headers))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    current().store.ping()  # a redis error becomes a 503 with Retry-After
    return jsonify(status="ready")
