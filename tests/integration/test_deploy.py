"""The docker-compose stack, checked without a Docker engine: structure, mounts, configs, schema."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
import yaml

from exporter.traffic import TrafficCounter
from harness.servers import PostgresServer
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
    assert "${POSTGRES_PASSWORD:?" in text and "${GRAFANA_ADMIN_PASSWORD:?" in text
    environment = COMPOSE["services"]["postgres"]["environment"]
    assert environment["POSTGRES_PASSWORD"].startswith("${")


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


def test_the_init_sql_makes_tables_the_exporter_counts(postgres: PostgresServer) -> None:
    url = postgres.create_database("compose_init")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql((ROOT / "deploy/postgres/init.sql").read_text(encoding="utf-8"))
    counter = TrafficCounter(
        engine, DEFAULT_TABLES, settle_seconds=30, max_keys=100, timeout=30, clock=FakeClock()
    )
    assert counter.poll()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO access_logs (server_addr, remote_addr) VALUES ('10.0.1.2', '10.0.2.9')"
        )
    assert counter.poll()
    (series,) = counter.snapshot().edges["backend_to_frontend"]
    assert (series.source, series.target, series.value) == ("10.0.1.2", "10.0.2.9", 1)


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER heartbeat" in text and "EXPOSE 26002 26003" in text
    for package in (
        "heartbeat_core",
        "heartbeat_receiver",
        "exporter",
        "heartbeat_agent",
        "heartbeat_monitor",
    ):
        assert f"COPY {package} " in text
