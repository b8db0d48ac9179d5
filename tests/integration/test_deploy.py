"""The docker-compose stack, checked without a Docker engine: structure, mounts, configs, schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest
import sqlalchemy as sa
import tomllib
import yaml

from exporter.sql.schema import EXPORTER_ROLE
from exporter.sql.traffic import TrafficCounter
from harness.servers import PostgresServer, psql
from heartbeat_core.sections import DEFAULT_TABLES
from tests.support import FakeClock

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_the_whole_stack_with_healthchecks() -> None:
    services = COMPOSE["services"]
    assert set(services) == {
        "redis",
        "postgres",
        "receiver",
        "exporter",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert services["receiver"]["ports"] == ["127.0.0.1:26002:26002"]
    assert services["exporter"]["ports"] == ["127.0.0.1:26003:26003"]
    assert services["exporter"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_no_default_passwords_in_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for secret in ("POSTGRES_PASSWORD", "EXPORTER_DB_PASSWORD", "REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert "${" + secret + ":?" in text, f"{secret} is not required"
    environment = COMPOSE["services"]["postgres"]["environment"]
    assert environment["POSTGRES_PASSWORD"].startswith("${")
    services = COMPOSE["services"]
    assert "--requirepass" in services["redis"]["command"]
    for name in ("receiver", "exporter"):  # both reach Redis with its password
        assert services[name]["environment"]["HEARTBEAT_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")


def test_the_exporter_reads_the_database_as_its_read_only_role() -> None:
    url = COMPOSE["services"]["exporter"]["environment"]["HEARTBEAT_DATABASE_URL"]
    assert url.startswith(f"postgresql+psycopg2://{EXPORTER_ROLE}:${{EXPORTER_DB_PASSWORD:?")


def test_compose_is_valid_against_the_compose_spec_schema() -> None:
    # the compose-spec's own JSON schema, vendored with its licence (tests/data/compose-spec)
    schema = json.loads((ROOT / "tests/data/compose-spec/compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema_rs.validator_for(schema)
    assert [error.message for error in validator.iter_errors(COMPOSE)] == []
    broken = {**COMPOSE, "services": {**COMPOSE["services"], "redis": {"image": 7, "ports": [{"x": 1}]}}}
    assert list(validator.iter_errors(broken))  # the check can fail


def test_every_bind_mount_exists_in_the_repository() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()


def test_prometheus_config_passes_promtool_with_the_rules_where_compose_mounts_them(tmp_path: Path) -> None:
    prometheus = COMPOSE["services"]["prometheus"]
    mounts = dict(v.split(":")[:2] for v in prometheus["volumes"] if v.startswith("."))
    config_source = next(s for s, target in mounts.items() if target == "/etc/prometheus/prometheus.yml")
    rules_source = next(s for s, target in mounts.items() if target == "/etc/prometheus/rules")
    shutil.copy(ROOT / config_source, tmp_path / "prometheus.yml")
    (tmp_path / "rules").symlink_to(ROOT / rules_source)
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper(), output  # e.g. a rule_files glob that matches nothing
    rules = yaml.safe_load((ROOT / "alerts" / "heartbeat.rules.yml").read_text(encoding="utf-8"))
    assert f"SUCCESS: {sum(len(group['rules']) for group in rules['groups'])} rules found" in output


def test_the_init_scripts_make_tables_the_exporter_counts_as_its_read_only_role(
    postgres: PostgresServer,
) -> None:
    owner_url = postgres.create_database("compose_init")
    with sa.create_engine(owner_url).begin() as conn:
        conn.exec_driver_sql((ROOT / "deploy/postgres/init.sql").read_text(encoding="utf-8"))
    password = "it's; DROP ROLE heartbeat_exporter; --"  # quoted by psql, whatever it holds
    env = {
        **os.environ,
        "POSTGRES_USER": "monitor",
        "POSTGRES_DB": "compose_init",
        "EXPORTER_DB_PASSWORD": password,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PATH": f"{Path(psql()).parent}:{os.environ['PATH']}",
    }
    script = ROOT / "deploy/postgres/exporter-password.sh"
    result = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with sa.create_engine(owner_url).connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %(role)s", {"role": EXPORTER_ROLE}
        ).scalar()
    assert stored and stored.startswith("SCRAM-SHA-256$")
    engine = sa.create_engine(owner_url.replace("monitor@", f"{EXPORTER_ROLE}@"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO access_logs (server_addr, remote_addr) VALUES ('x', 'y')")
    with sa.create_engine(owner_url).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO access_logs (server_addr, remote_addr) VALUES ('10.0.1.2', '10.0.2.8')"
        )
    counter = TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=30, max_keys=100, timeout=30, clock=FakeClock()
    )
    assert counter.poll()
    with sa.create_engine(owner_url).begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO access_logs (server_addr, remote_addr) VALUES ('10.0.1.2', '10.0.2.9')"
        )
    assert counter.poll()
    (series,) = counter.snapshot().edges["backend_to_frontend"]
    assert (series.source, series.target, series.value) == ("10.0.1.2", "10.0.2.9", 1)


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER heartbeat" in text and "EXPOSE 26002 26003" in text
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for package in packages["include"]:  # every package the distribution installs
        assert f"COPY {package.rstrip('*')} " in text


def test_compose_configures_an_admin_from_a_required_hash_and_its_file_sets_nothing_it_overrides() -> None:
    """Someone can log in to the compose stack's status page, with a password no file ships."""
    from werkzeug.security import generate_password_hash

    from heartbeat_core.config import load_settings

    environment = COMPOSE["services"]["exporter"]["environment"]
    assert environment["HEARTBEAT_USERS__ADMIN__PASSWORD_HASH"].startswith("${ADMIN_PASSWORD_HASH:?")
    secret = generate_password_hash("a-password-of-the-operator")
    values = {
        key: re.sub(
            r"\$\{(\w+):\?[^}]*\}", lambda m: secret if m.group(1) == "ADMIN_PASSWORD_HASH" else "x", v
        )
        for key, v in environment.items()
    }
    settings = load_settings(ROOT / "deploy" / "heartbeat.yml", environ=values)
    assert settings.users["admin"].role == "admin"
    assert settings.users["admin"].password_hash == secret
    # what the environment sets, the file must not also set: it would silently lose
    written = yaml.safe_load((ROOT / "deploy" / "heartbeat.yml").read_text(encoding="utf-8"))
    overridden = {
        key.removeprefix("HEARTBEAT_").lower() for key in environment if key.startswith("HEARTBEAT_")
    }
    assert not set(written) & overridden
