"""The command lines: set-up helpers and configuration errors, as an operator runs them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from heartbeat_core.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], input=stdin, capture_output=True, text=True, timeout=60, env=env
    )


def test_hash_password_makes_a_hash_the_exporter_accepts() -> None:
    result = run("exporter", "hash-password", stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    assert check_password_hash(result.stdout.strip(), "correct horse battery")
    assert run("exporter", "hash-password", stdin="short\n").returncode == 2


def test_new_token_prints_a_token_and_a_configuration_line_holding_only_its_hash(tmp_path: Path) -> None:
    for module, key in (("heartbeat_receiver", "ingest_tokens"), ("exporter", "metrics_auth")):
        result = run(module, "new-token")
        assert result.returncode == 0, result.stderr
        token_line, config_line = result.stdout.splitlines()
        token = token_line.rsplit(" ", 1)[1]
        assert len(token) >= 32 and token not in config_line
        config = tmp_path / f"{module}.yaml"
        config.write_text(config_line.removeprefix("configuration: ") + "\n", encoding="utf-8")
        settings = load_settings(config, environ={})
        value = getattr(settings, key)
        entry = value[0] if isinstance(value, tuple) else value
        assert hashlib.sha256(token.encode()).hexdigest() in (
            getattr(entry, "token_hash", None),
            getattr(entry, "bearer_token_hash", None),
        ), key


def test_init_db_and_demo_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pipeline.db'}"
    assert run("exporter", "--database-url", url, "init-db").returncode == 0
    result = run("exporter", "--database-url", url, "demo-rows", "25")
    assert result.returncode == 0 and "inserted 100 rows" in result.stdout
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for table in ("node_monitor_metrics", "database_access_log", "redis_access_log", "access_logs"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 25  # noqa: S608


def test_a_bad_configuration_stops_each_command_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("tables: {access_logs: {table: 'x; DROP TABLE y'}}\n")
    for module in ("heartbeat_receiver", "exporter"):
        result = run(module, "--config", str(config))
        assert result.returncode == 2
        assert "tables.access_logs.table" in result.stderr and "Traceback" not in result.stderr


def test_check_config_exits_0_for_a_valid_configuration(tmp_path: Path) -> None:
    config = tmp_path / "good.yaml"
    config.write_text("types: {redis: {timeout: 90}}\npoll_interval: 5\n")
    for module in ("heartbeat_receiver", "exporter"):
        result = run(module, "--config", str(config), "--check-config")
        assert result.returncode == 0, result.stderr
        assert "configuration is valid" in result.stdout


def test_check_config_warns_of_a_timeout_shorter_than_the_receivers_ttl(tmp_path: Path) -> None:
    """A dead receiver is noticed after receiver_ttl: a type that times out sooner goes down first."""
    config = tmp_path / "risky.yaml"
    config.write_text("types: {redis: {timeout: 20}}\nreceiver_ttl: 30\n")
    result = run("exporter", "--config", str(config), "--check-config")
    assert result.returncode == 0 and "configuration is valid" in result.stdout
    assert "warning: type redis: its timeout (20 s) is not longer than receiver_ttl (30 s)" in result.stderr
    fine = tmp_path / "fine.yaml"
    fine.write_text("types: {redis: {timeout: 90}}\n")
    assert "warning" not in run("exporter", "--config", str(fine), "--check-config").stderr


def test_check_config_exits_1_with_every_error_listed(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("types: {redis: {timeout: 0}}\nmax_services: none\ncolour: blue\n")
    for module in ("heartbeat_receiver", "exporter"):
        result = run(module, "--config", str(config), "--check-config")
        assert result.returncode == 1
        for where in ("types.redis.timeout", "max_services", "colour: unknown key"):
            assert where in result.stderr, (module, result.stderr)
        assert "Traceback" not in result.stderr


def test_check_config_sees_the_environment_and_the_flags_too(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HEARTBEAT_MAX_SERVICES": "0"}
    result = run("exporter", "--check-config", env=env)
    assert result.returncode == 1 and "max_services" in result.stderr
    assert run("exporter", "--check-config", "--listen", "nowhere").returncode == 1


def test_help_states_the_real_defaults() -> None:
    receiver = run("heartbeat_receiver", "--help").stdout
    exporter = run("exporter", "--help").stdout
    assert "default 2)" in receiver and "default 4)" in receiver  # workers, threads
    assert "default 4)" in exporter and "default 8" not in exporter  # one process, 4 threads
    assert "127.0.0.1:26002" in receiver and "127.0.0.1:26003" in exporter


def test_init_sql_prints_the_shipped_init_sql() -> None:
    result = run("exporter", "init-sql")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "deploy" / "postgres" / "init.sql").read_text(encoding="utf-8")


def test_alert_config_prints_the_shipped_alertmanager_yml() -> None:
    result = run("exporter", "alert-config")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "alerts" / "alertmanager.yml").read_text(encoding="utf-8")
