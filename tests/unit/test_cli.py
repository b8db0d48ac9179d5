"""The command lines: set-up helpers and configuration errors, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], input=stdin, capture_output=True, text=True, timeout=60, env=env
    )


def test_hash_password_makes_a_hash_the_exporter_accepts() -> None:
    result = run("exporter", "hash-password", stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    assert check_password_hash(result.stdout.strip(), "correct horse battery")
    assert run("exporter", "hash-password", stdin="short\n").returncode == 2


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
