"""schemathesis against both apps' OpenAPI documents: no 5xx, every error a JSON body."""

from __future__ import annotations

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.security import generate_password_hash

from exporter.sql.schema import create_schema
from exporter.web.app import create_app as create_exporter
from harness.redis import RedisServer
from heartbeat_core.config import from_mapping
from heartbeat_receiver.app import create_app as create_receiver

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def receiver_schema(redis_server: RedisServer) -> schemathesis.BaseSchema:
    app = create_receiver(from_mapping({"redis_url": redis_server.url, "max_services": 50}))
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def exporter_schema(redis_server: RedisServer, sqlite_url: str) -> schemathesis.BaseSchema:
    users = {"alice": {"password_hash": generate_password_hash("alice-password"), "role": "admin"}}
    settings_ = from_mapping({"redis_url": redis_server.url, "database_url": sqlite_url, "users": users})
    create_schema(sa.create_engine(sqlite_url))
    app = create_exporter(settings_)
    app.exporter.worker.cycle()
    login = app.test_client().post("/auth/login", json={"username": "alice", "password": "alice-password"})
    app.config["ADMIN_TOKEN"] = login.get_json()["access_token"]  # so that cases reach past the auth check
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


STREAMS = {"GET /events"}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def fuzz(schema: schemathesis.BaseSchema, token: str | None = None) -> set[str]:
    """Every operation, with Hypothesis driving schemathesis' generated cases; returns those run."""
    operations = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in STREAMS:
            continue  # an event stream lasts minutes; test_events covers it
        # logging out with the shared token would leave every later operation at 401
        bearer = None if operation.label == "POST /auth/logout" else token

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            # run() is called below, in this same iteration, so the loop's bearer is the right one
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else None  # noqa: B023
            case.call_and_validate(checks=CHECKS, headers=headers)

        run()
        operations.add(operation.label)
    return operations


# schemathesis leaves out the document's own route, /openapi.json


def test_receiver_api(receiver_schema: schemathesis.BaseSchema) -> None:
    assert fuzz(receiver_schema) == {
        "POST /heartbeat",
        "POST /heartbeat/report",
        "POST /heartbeat/batch",
        "GET /healthz",
        "GET /readyz",
    }


def test_status_api(exporter_schema: schemathesis.BaseSchema) -> None:
    token = exporter_schema.app.config["ADMIN_TOKEN"]
    assert fuzz(exporter_schema, token) == {
        "POST /auth/login",
        "POST /auth/logout",
        "POST /heartbeat/status",
        "POST /maintenance",
        "GET /maintenance",
        "DELETE /maintenance/{window_id}",
        "GET /metrics",
        "GET /healthz",
        "GET /alerts",
        "POST /alerts/test",
    }
