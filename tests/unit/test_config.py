from __future__ import annotations

from pathlib import Path

import pytest

from heartbeat_core.config import ConfigError, load_settings

CONTRACT_EXAMPLE = """
types:
  redis: {timeout: 90}
  batch: {prefixes: ["batch-"], timeout: 3600, status_key: batch}
type_codes: {4: backend}
redis_url: redis://127.0.0.1:6379/0
database_url: postgresql+psycopg2://monitor@127.0.0.1/pipeline
poll_interval: 15
users:
  alice: {password_hash: "scrypt:32768:8:1$abc$def", role: admin}
  bob: {password_hash: "pbkdf2:sha256:600000$abc$def", role: viewer}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "heartbeat.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_contract_example_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONTRACT_EXAMPLE), environ={})
    assert settings.service_types.timeout("redis") == 90
    assert settings.service_types.timeout("kafka") == 120
    assert settings.service_types.classify("batch-nightly") == "batch"
    assert settings.service_types.classify("type-4@h", 4) == "backend"
    assert settings.service_types.all[-1].name == "other"
    assert settings.users["alice"].role == "admin"
    assert settings.poll_interval == 15


def test_environment_overrides_file_and_flags_override_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "redis_url: redis://file:1/0\nreceiver_listen: 127.0.0.1:1111\n")
    environ = {"HEARTBEAT_CONFIG": str(path), "HEARTBEAT_REDIS_URL": "redis://env:2/0"}
    settings = load_settings(environ=environ)
    assert settings.redis_url == "redis://env:2/0"
    assert settings.receiver_listen == ("127.0.0.1", 1111)
    flagged = load_settings(environ=environ, flags={"redis_url": "redis://flag:3/0", "workers": None})
    assert flagged.redis_url == "redis://flag:3/0"
    assert flagged.workers == 2


def test_defaults_are_safe() -> None:
    settings = load_settings(environ={})
    assert settings.receiver_listen == ("127.0.0.1", 26002)
    assert settings.exporter_listen == ("127.0.0.1", 26003)
    assert not settings.users and not settings.ingest_tokens and settings.secret_key is None


@pytest.mark.parametrize(
    "text",
    [
        "tables: {access_logs: {table: 'access_logs; DROP TABLE x'}}",
        "tables: {access_logs: {ip_columns: ['remote addr', 'server_addr']}}",
        "tables: {node_monitor_metrics: {id_column: '\"id\"'}}",
        "tables: {no_such_table: {table: t}}",
        "types: {'Bad Label': {timeout: 3}}",
        "types: {redis: {timeout: -1}}",
        "type_codes: {4: nonexistent}",
        "users: {carol: {password_hash: plaintext, role: admin}}",
        "users: {carol: {password_hash: 'pbkdf2:sha256:1$a$b', role: root}}",
        "receiver_listen: 'localhost'",
        "ingest_tokens: ['short']",
        "no_such_key: 1",
        "- a list",
    ],
)
def test_bad_configuration_is_refused_with_the_key_named(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, text), environ={})
