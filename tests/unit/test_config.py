from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from heartbeat_core.config import ConfigError, Settings, load_settings
from heartbeat_core.configdoc import DOC, render
from heartbeat_core.sections import token_hash

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
        "users: {carol: {password_hash: 'pbkdf2:sha256:600000$a$b', role: root}}",
        # werkzeug could not check these at login (a 500), or they are too cheap to guess against
        "users: {carol: {password_hash: 'md5$a$b'}}",
        "users: {carol: {password_hash: 'pbkdf2:sha256:1$a$b'}}",
        "users: {carol: {password_hash: 'pbkdf2:md5:600000$a$b'}}",
        "users: {carol: {password_hash: 'scrypt:1024:8:1$a$b'}}",
        "users: {carol: {password_hash: 'scrypt:many:8:1$a$b'}}",
        "metrics_auth: {username: prometheus}",
        "metrics_auth: {}",
        "metrics_auth: {bearer_token_hash: not-hex}",
        "ingest_tokens: [{token_hash: abc}]",
        "max_services: 10\ningest_tokens: [{token_hash: '" + "a" * 64 + "', reserve: 10}]",
        'redis_key_prefix: "hb\\n"',
        "receiver_listen: 'localhost'",
        "ingest_tokens: ['short']",
        "no_such_key: 1",
        "- a list",
    ],
)
def test_bad_configuration_is_refused_with_the_key_named(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, text), environ={})


# one valid, non-default value per key, as the environment spells it, and what it must become
ENVIRONMENT_EXAMPLES: dict[str, tuple[str, Any]] = {
    "topology": (
        '["kafka -> database"]',
        lambda s: [link.name for link in s.pipeline.links] == ["kafka_to_database"],
    ),
    "types": ('{"redis": {"timeout": 90}}', lambda s: s.service_types.timeout("redis") == 90),
    "type_codes": ('{"4": "backend"}', lambda s: s.type_codes == {4: "backend"}),
    "redis_url": ("redis://env:1/0", lambda s: s.redis_url == "redis://env:1/0"),
    "redis_cluster": ("yes", lambda s: s.redis_cluster is True),
    "redis_key_prefix": ("hb:test", lambda s: s.redis_key_prefix == "hb:test"),
    "database_url": ("sqlite:///x.db", lambda s: s.database_url == "sqlite:///x.db"),
    "poll_interval": ("2.5", lambda s: s.poll_interval == 2.5),
    "probe_timeout": ("1", lambda s: s.probe_timeout == 1),
    "settle_seconds": ("7", lambda s: s.settle_seconds == 7),
    "receiver_listen": ("[::1]:9000", lambda s: s.receiver_listen == ("::1", 9000)),
    "exporter_listen": ("0.0.0.0:9001", lambda s: s.exporter_listen == ("0.0.0.0", 9001)),
    "max_services": ("5", lambda s: s.max_services == 5),
    "retention_seconds": ("60", lambda s: s.retention_seconds == 60),
    "max_body_bytes": ("1024", lambda s: s.max_body_bytes == 1024),
    "max_batch_bytes": ("65536", lambda s: s.max_batch_bytes == 65536),
    "jobs": (
        '{"cron-": {"schedule": "0 2 * * *", "tz": "Europe/Berlin"}}',
        lambda s: s.jobs["cron-"].tz == "Europe/Berlin",
    ),
    "max_staleness": ('{"kafka_to_database": 600}', lambda s: s.max_staleness == {"kafka_to_database": 600}),
    "push_tokens": ('{"' + "ab" * 32 + '": "cron-1"}', lambda s: s.push_tokens == {"ab" * 32: "cron-1"}),
    "ingest_tokens": (
        "a" * 16 + ", " + "b" * 16,
        lambda s: [t.token_hash for t in s.ingest_tokens] == [token_hash("a" * 16), token_hash("b" * 16)],
    ),
    "trusted_proxies": ("1", lambda s: s.trusted_proxies == 1),
    "tables": ('{"access_logs": {"table": "nginx"}}', lambda s: s.tables["access_logs"].table == "nginx"),
    "max_ips_per_edge": ("10", lambda s: s.max_ips_per_edge == 10),
    "users": (
        '{"al": {"password_hash": "pbkdf2:sha256:600000$a$b"}}',
        lambda s: s.users["al"].role == "viewer",
    ),
    "metrics_auth": (
        '{"bearer_token_hash": "' + "0" * 64 + '"}',
        lambda s: s.metrics_auth is not None and s.metrics_auth.bearer_token_hash == "0" * 64,
    ),
    "traffic_ip_labels": ("false", lambda s: s.traffic_ip_labels is False),
    "login_failures_per_minute": ("3", lambda s: s.login_failures_per_minute == 3),
    "snapshot_cache_seconds": ("0", lambda s: s.snapshot_cache_seconds == 0),
    "state_series": ("current", lambda s: s.state_series == "current"),
    "client_timeout": ("2", lambda s: s.client_timeout == 2),
    "rollup_retention": ("7200", lambda s: s.rollup_retention == 7200),
    "rollup_minute_retention": ("3600", lambda s: s.rollup_minute_retention == 3600),
    "secret_key": ("k" * 20, lambda s: s.secret_key == "k" * 20),
    "token_ttl_seconds": ("60", lambda s: s.token_ttl_seconds == 60),
    "max_window_seconds": ("3600", lambda s: s.max_window_seconds == 3600),
    "notify": (
        '{"webhook": ["http://127.0.0.1:9/hook"]}',
        lambda s: s.notify is not None and [str(u) for u in s.notify.webhook] == ["http://127.0.0.1:9/hook"],
    ),
    "alertmanager_url": ("http://127.0.0.1:26005", lambda s: s.alertmanager_url == "http://127.0.0.1:26005"),
    "signature_tolerance": ("60", lambda s: s.signature_tolerance == 60),
    "availability_retention": ("864000", lambda s: s.availability_retention == 864000),
    "public": (
        '{"title": "Pipeline", "types": ["kafka"]}',
        lambda s: s.public is not None and s.public.title == "Pipeline" and s.public.types == ("kafka",),
    ),
    "max_progress_counters": ("3", lambda s: s.max_progress_counters == 3),
    "max_metrics": ("4", lambda s: s.max_metrics == 4),
    "late_factor": ("2", lambda s: s.late_factor == 2),
    "receiver_ttl": ("30", lambda s: s.receiver_ttl == 30),
    "silence_fraction": ("0.5", lambda s: s.silence_fraction == 0.5),
    "silence_min_services": ("9", lambda s: s.silence_min_services == 9),
    "silence_proven_after": ("60", lambda s: s.silence_proven_after == 60),
    "silence_max_seconds": ("120", lambda s: s.silence_max_seconds == 120),
    "workers": ("3", lambda s: s.workers == 3),
    "threads": ("9", lambda s: s.threads == 9),
}


def test_every_key_has_its_environment_variable() -> None:
    assert set(ENVIRONMENT_EXAMPLES) == set(Settings.model_fields)  # a new key needs a row here
    for key, (value, check) in ENVIRONMENT_EXAMPLES.items():
        settings = load_settings(environ={f"HEARTBEAT_{key.upper()}": value})
        assert check(settings), key


def test_nested_keys_from_the_environment_merge_into_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "types: {redis: {prefixes: [cache-]}}\ntables: {access_logs: {table: nginx}}\n")
    settings = load_settings(
        path,
        environ={
            "HEARTBEAT_TYPES__REDIS__TIMEOUT": "90",
            "HEARTBEAT_TYPE_CODES__4": "backend",
            "HEARTBEAT_TABLES__ACCESS_LOGS__TIME_KIND": "unix",
            "HEARTBEAT_USERS__ALICE__PASSWORD_HASH": "scrypt:32768:8:1$a$b",
            "HEARTBEAT_USERS__ALICE__ROLE": "admin",
        },
    )
    redis = settings.service_types.by_name["redis"]
    assert (redis.prefixes, redis.timeout) == (("cache-",), 90)
    assert settings.service_types.classify("x", 4) == "backend"
    access = settings.tables["access_logs"]
    assert (access.table, access.time_kind, access.ip_columns) == (
        "nginx",
        "unix",
        ("server_addr", "remote_addr"),
    )
    assert settings.users["alice"].role == "admin"


def test_every_bad_location_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "types: {redis: {timeout: 0}}\n"
        "tables: {access_logs: {table: 'a b'}}\n"
        "poll_interval: soon\n"
        "users: {eve: {password_hash: plain}}\n"
        "no_such_key: 1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    lines = str(caught.value).splitlines()
    for where in (
        "types.redis.timeout",
        "tables.access_logs.table",
        "poll_interval",
        "users.eve.password_hash",
    ):
        assert any(line.startswith(f"{where}:") for line in lines), (where, lines)
    assert "no_such_key: unknown key" in lines


@pytest.mark.parametrize(
    "text",
    [
        'tables: {access_logs: {table: "access_logs\\n"}}',
        'redis_key_prefix: "heartbeat\\n"',
        'types: {"redis\\n": {timeout: 3}}',
    ],
)
def test_a_trailing_newline_does_not_pass_a_pattern(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, text), environ={})


def test_the_docs_table_is_made_from_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == render(DOC.read_text(encoding="utf-8"))
    for key in Settings.model_fields:
        assert f"`HEARTBEAT_{key.upper()}`" in DOC.read_text(encoding="utf-8")
