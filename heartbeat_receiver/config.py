"""One frozen settings object for every Heartbeat Monitor process.

Settings are read once at start-up, in this order, each layer overriding the one before:
the YAML file (``HEARTBEAT_CONFIG``), the environment, then command-line flags. Everything
that later reaches SQL or Redis keys is validated here, so a bad configuration stops the
process at start with a clear message instead of failing at the first request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from heartbeat_receiver.service import DEFAULT_TYPES, TypeRule, TypeRules

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
LABEL = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ROLES = ("admin", "viewer")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


def parse_listen(value: str, key: str) -> tuple[str, int]:
    """Split ``host:port`` (IPv6 as ``[::1]:port``) and check the port."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key}: expected host:port, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def check_identifier(value: Any, key: str) -> str:
    """Reject anything but a plain SQL identifier: these names are put into SQL text."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError(f"{key}: {value!r} is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return value


@dataclass(frozen=True)
class TableSpec:
    """Where one pipeline log table lives and which columns the traffic counters read."""

    table: str
    id_column: str = "id"
    time_column: str = "created_at"
    time_kind: str = "timestamp"  # "timestamp" or "unix" (seconds)
    ip_columns: tuple[str, ...] = ()


DEFAULT_TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {
        "node_monitor_metrics": TableSpec("node_monitor_metrics", ip_columns=("ip",)),
        "database_access_log": TableSpec("database_access_log", ip_columns=("client_ip",)),
        "redis_access_log": TableSpec("redis_access_log", ip_columns=("client_ip",)),
        "access_logs": TableSpec("access_logs", ip_columns=("server_addr", "remote_addr")),
    }
)


@dataclass(frozen=True)
class User:
    password_hash: str
    role: str


@dataclass(frozen=True)
class Settings:
    types: TypeRules = field(default_factory=lambda: TypeRules(DEFAULT_TYPES, {}))
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    redis_key_prefix: str = "heartbeat"
    database_url: str | None = None
    poll_interval: float = 15.0
    probe_timeout: float = 5.0
    settle_seconds: float = 30.0
    receiver_listen: tuple[str, int] = ("127.0.0.1", 26002)
    exporter_listen: tuple[str, int] = ("127.0.0.1", 26003)
    max_services: int = 10_000
    retention_seconds: float = 7 * 86400.0
    max_body_bytes: int = 4096
    ingest_tokens: tuple[str, ...] = ()
    trusted_proxies: int = 0
    tables: Mapping[str, TableSpec] = field(default_factory=lambda: DEFAULT_TABLES)
    max_ips_per_edge: int = 1000
    users: Mapping[str, User] = field(default_factory=lambda: MappingProxyType({}))
    secret_key: str | None = None
    token_ttl_seconds: int = 3600
    max_window_seconds: float = 366 * 86400.0
    workers: int = 2
    threads: int = 4


def _number(raw: Any, key: str, *, minimum: float = 0.0, integer: bool = False) -> Any:
    try:
        value = int(raw) if integer else float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: expected a number, got {raw!r}") from None
    if value < minimum or value != value:
        raise ConfigError(f"{key}: must be at least {minimum}, got {raw!r}")
    return value


def _types(raw: Any, codes_raw: Any) -> TypeRules:
    rules = {rule.label: rule for rule in DEFAULT_TYPES}
    for label, spec in (raw or {}).items():
        if not isinstance(label, str) or not LABEL.match(label):
            raise ConfigError(f"types: {label!r} is not a valid type label ([a-z_][a-z0-9_]*)")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"types.{label}: expected a mapping")
        base = rules.get(label, TypeRule(label, (), 120.0, label))
        prefixes = spec.get("prefixes", base.prefixes)
        if isinstance(prefixes, str) or not all(isinstance(p, str) and p for p in prefixes):
            raise ConfigError(f"types.{label}.prefixes: expected a list of non-empty strings")
        rules[label] = TypeRule(
            label,
            tuple(prefixes),
            _number(spec.get("timeout", base.timeout), f"types.{label}.timeout", minimum=1),
            str(spec.get("status_key", base.status_key)),
        )
    codes: dict[int, str] = {}
    for code, label in (codes_raw or {}).items():
        code_int = _number(code, "type_codes", integer=True, minimum=-(2**31))
        if label not in rules:
            raise ConfigError(f"type_codes.{code}: unknown type {label!r}")
        codes[code_int] = label
    other = rules.pop("other")
    return TypeRules((*rules.values(), other), codes)


def _tables(raw: Any) -> Mapping[str, TableSpec]:
    tables = dict(DEFAULT_TABLES)
    for name, spec in (raw or {}).items():
        if name not in DEFAULT_TABLES:
            raise ConfigError(f"tables: unknown log table {name!r} (known: {sorted(DEFAULT_TABLES)})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"tables.{name}: expected a mapping")
        base = tables[name]
        ip_columns = tuple(spec.get("ip_columns", base.ip_columns))
        if len(ip_columns) != len(base.ip_columns):
            raise ConfigError(f"tables.{name}.ip_columns: expected {len(base.ip_columns)} names")
        time_kind = spec.get("time_kind", base.time_kind)
        if time_kind not in ("timestamp", "unix"):
            raise ConfigError(f"tables.{name}.time_kind: expected 'timestamp' or 'unix'")
        tables[name] = TableSpec(
            check_identifier(spec.get("table", base.table), f"tables.{name}.table"),
            check_identifier(spec.get("id_column", base.id_column), f"tables.{name}.id_column"),
            check_identifier(spec.get("time_column", base.time_column), f"tables.{name}.time_column"),
            time_kind,
            tuple(check_identifier(c, f"tables.{name}.ip_columns") for c in ip_columns),
        )
    return MappingProxyType(tables)


def _users(raw: Any) -> Mapping[str, User]:
    users: dict[str, User] = {}
    for name, spec in (raw or {}).items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("password_hash"), str):
            raise ConfigError(f"users.{name}: expected {{password_hash: ..., role: ...}}")
        role = spec.get("role", "viewer")
        if role not in ROLES:
            raise ConfigError(f"users.{name}.role: expected one of {ROLES}")
        if "$" not in spec["password_hash"]:
            raise ConfigError(
                f"users.{name}.password_hash: not a werkzeug hash "
                "(make one with `heartbeat-exporter hash-password`)"
            )
        users[str(name)] = User(spec["password_hash"], role)
    return MappingProxyType(users)


def _tokens(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else raw
    tokens = tuple(str(t).strip() for t in items if str(t).strip())
    if any(len(t) < 16 for t in tokens):
        raise ConfigError("ingest_tokens: each token must be at least 16 characters")
    return tokens


ENVIRONMENT = {
    "HEARTBEAT_REDIS_URL": "redis_url",
    "HEARTBEAT_REDIS_CLUSTER": "redis_cluster",
    "HEARTBEAT_DATABASE_URL": "database_url",
    "HEARTBEAT_RECEIVER_LISTEN": "receiver_listen",
    "HEARTBEAT_EXPORTER_LISTEN": "exporter_listen",
    "HEARTBEAT_INGEST_TOKENS": "ingest_tokens",
    "HEARTBEAT_SECRET_KEY": "secret_key",
    "HEARTBEAT_POLL_INTERVAL": "poll_interval",
    "HEARTBEAT_MAX_SERVICES": "max_services",
}


def from_mapping(raw: Mapping[str, Any]) -> Settings:
    """Build settings from one merged mapping of file keys (strings allowed, as from env)."""
    known = set(Settings.__dataclass_fields__) | {"type_codes"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
    d = Settings()
    cluster = raw.get("redis_cluster", d.redis_cluster)
    if isinstance(cluster, str):
        cluster = cluster.strip().lower() in ("1", "true", "yes", "on")
    prefix = str(raw.get("redis_key_prefix", d.redis_key_prefix))
    if not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", prefix):
        raise ConfigError("redis_key_prefix: letters, digits and _.:- only")
    secret = raw.get("secret_key", d.secret_key)
    if secret is not None and len(str(secret)) < 16:
        raise ConfigError("secret_key: at least 16 characters")

    def listen(key: str, default: tuple[str, int]) -> tuple[str, int]:
        value = raw.get(key)
        if value is None:
            return default
        if isinstance(value, (tuple, list)):
            return str(value[0]), int(value[1])
        return parse_listen(str(value), key)

    def num(key: str, minimum: float = 0.0, integer: bool = False) -> Any:
        return _number(raw.get(key, getattr(d, key)), key, minimum=minimum, integer=integer)

    return Settings(
        types=_types(raw.get("types"), raw.get("type_codes")),
        redis_url=str(raw.get("redis_url", d.redis_url)),
        redis_cluster=bool(cluster),
        redis_key_prefix=prefix,
        database_url=raw.get("database_url", d.database_url),
        poll_interval=num("poll_interval", minimum=0.05),
        probe_timeout=num("probe_timeout", minimum=0.05),
        settle_seconds=num("settle_seconds"),
        receiver_listen=listen("receiver_listen", d.receiver_listen),
        exporter_listen=listen("exporter_listen", d.exporter_listen),
        max_services=num("max_services", minimum=1, integer=True),
        retention_seconds=num("retention_seconds", minimum=1),
        max_body_bytes=num("max_body_bytes", minimum=256, integer=True),
        ingest_tokens=_tokens(raw.get("ingest_tokens")),
        trusted_proxies=num("trusted_proxies", integer=True),
        tables=_tables(raw.get("tables")),
        max_ips_per_edge=num("max_ips_per_edge", minimum=1, integer=True),
        users=_users(raw.get("users")),
        secret_key=None if secret is None else str(secret),
        token_ttl_seconds=num("token_ttl_seconds", minimum=1, integer=True),
        max_window_seconds=num("max_window_seconds", minimum=1),
        workers=num("workers", minimum=1, integer=True),
        threads=num("threads", minimum=1, integer=True),
    )


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """File, then environment, then flags (flags whose value is None were not given)."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("HEARTBEAT_CONFIG")
    merged: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: the top level must be a mapping")
        merged.update(loaded)
    for variable, key in ENVIRONMENT.items():
        if environ.get(variable):
            merged[key] = environ[variable]
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    return from_mapping(merged)
