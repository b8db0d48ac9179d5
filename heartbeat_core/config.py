"""One frozen, validated settings object for every Heartbeat Monitor process.

Layers, each overriding the one before: the YAML file (``--config`` or ``HEARTBEAT_CONFIG``),
the environment (``HEARTBEAT_<KEY>``, nested keys joined by ``__``), then command-line flags.
The schema below is the one declaration of every key: validation, the environment variables
and the table in docs/configuration.md all come from it. Every bad value is reported at once,
each with its location, before a process serves anything; whatever later reaches SQL text or
Redis keys has been checked here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError
from pydantic import model_validator as model_check
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from heartbeat_core.consistency import consistency_problems
from heartbeat_core.notify import Notify
from heartbeat_core.reporting import PublicSpec
from heartbeat_core.sections import (
    DEFAULT_TABLES,
    EdgeName,
    JobSpec,
    ListenField,
    MetricsAuth,
    ServiceName,
    Sha256Hex,
    TableSpec,
    Tokens,
    TypeName,
    TypeSpec,
    User,
    parse_links,
    with_default_tables,
)
from heartbeat_core.sources import ConfigError as ConfigError
from heartbeat_core.sources import Environment, FileValues, read_file
from heartbeat_core.topology import DEFAULT_TOPOLOGY, Topology
from heartbeat_core.types import DEFAULT_TYPES, OTHER, ServiceType, ServiceTypes


def key(app: str, default: Any = PydanticUndefined, description: str = "", **constraints: Any) -> Any:
    """A key that only one process reads (``app``: receiver, exporter or both), for the docs table."""
    return Field(default, description=description, json_schema_extra={"app": app}, **constraints)


class Settings(BaseSettings):
    """Every key; ``json_schema_extra["app"]`` says which process reads it (for the docs table)."""

    model_config = SettingsConfigDict(
        env_prefix="HEARTBEAT_", env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    topology: Annotated[tuple[tuple[TypeName, TypeName], ...], BeforeValidator(parse_links)] = Field(
        DEFAULT_TOPOLOGY,
        description="the pipeline's edges between types (and `database`), as `source -> target`",
    )
    types: dict[TypeName, TypeSpec] = Field(
        {},
        description="per type: `prefixes`, `timeout`/`late_after`/`stall_after` (s), `min_up`, "
        "`failure_threshold`, `max_lag` (s), `status_key`, `detection` (learned lateness)",
    )
    type_codes: dict[int, TypeName] = Field({}, description="numeric `type` in a heartbeat → type name")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="the heartbeat store")
    redis_cluster: bool = Field(False, description="connect to a Redis Cluster")
    redis_key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = Field(
        "heartbeat", description="keys are `{prefix}:seen`, `{prefix}:info`, …"
    )
    database_url: str | None = key("exporter", None, description="SQLAlchemy URL of the pipeline database")
    poll_interval: float = key(
        "exporter", 15.0, ge=0.05, description="seconds between database probes and traffic polls"
    )
    probe_timeout: float = key(
        "exporter", 5.0, ge=0.05, description="connect and statement timeout, and the client deadline"
    )
    settle_seconds: float = key(
        "exporter", 30.0, ge=0, description="how long an id gap is watched for a late commit"
    )
    receiver_listen: ListenField = key(
        "receiver", ("127.0.0.1", 26002), description="where the receiver binds"
    )
    exporter_listen: ListenField = key(
        "exporter", ("127.0.0.1", 26003), description="where the exporter binds"
    )
    max_services: int = Field(10_000, ge=1, description="distinct services kept; new names beyond get 429")
    retention_seconds: float = Field(7 * 86400.0, ge=1, description="services unseen this long are forgotten")
    max_body_bytes: int = key("receiver", 4096, ge=256, description="larger heartbeat bodies get 413")
    ingest_tokens: Tokens = key(
        "receiver",
        (),
        description="who may send heartbeats: `{token_hash, prefixes, types, reserve}` (types: by default "
        "those the prefixes imply), or a bare token (≥ 16 characters); heartbeats need one when any is set",
    )
    max_batch_bytes: int = key(
        "receiver", 1_048_576, ge=4096, description="larger `POST /heartbeat/batch` bodies get 413"
    )
    push_tokens: dict[Sha256Hex, ServiceName] = key(
        "receiver",
        {},
        description="Uptime Kuma push monitors: `{sha256 of the push token: service name}` for "
        "`/api/push/<token>`",
    )
    trusted_proxies: int = key(
        "receiver", 0, ge=0, description="proxies in front whose `X-Forwarded-For` is trusted"
    )
    tables: Annotated[dict[str, TableSpec], BeforeValidator(with_default_tables)] = key(
        "exporter",
        default_factory=lambda: dict(DEFAULT_TABLES),
        description="per log table: `table`, `id_column`, `ip_columns`, `time_column`, `time_kind`",
    )
    jobs: dict[str, JobSpec] = Field(
        {},
        description="per type or name prefix: `schedule` (cron), `tz`, `grace`, `max_runtime`, "
        "`min_runtime` (s), `failure_threshold`",
    )
    max_staleness: dict[EdgeName, Annotated[float, Field(gt=0)]] = key(
        "exporter", {}, description="per edge, how old its newest row may be (s) before HeartbeatDataStale"
    )
    max_ips_per_edge: int = key(
        "exporter", 1000, ge=1, description="distinct IPs per edge; beyond, rows count as `overflow`"
    )
    metrics_auth: MetricsAuth | None = key(
        "exporter",
        None,
        description="`/metrics` requires this: `{bearer_token_hash}` and/or `{username, password_hash}` "
        "(SHA-256 hex; `heartbeat-exporter new-token`)",
    )
    traffic_ip_labels: bool = key(
        "exporter", True, description="label traffic series with IP addresses; false leaves per-edge totals"
    )
    login_failures_per_minute: int = key(
        "exporter", 5, ge=1, description="failed logins allowed per client address and per user; beyond, 429"
    )
    users: dict[str, User] = key(
        "exporter", {}, description="status API users: `{name: {password_hash, role}}`"
    )
    secret_key: Annotated[str, Field(min_length=16)] | None = key(
        "exporter", None, description="signs status API tokens (random per process when unset)"
    )
    token_ttl_seconds: int = key("exporter", 3600, ge=1, description="status API token lifetime")
    max_window_seconds: float = key("exporter", 366 * 86400.0, ge=1, description="longest status API window")
    max_progress_counters: int = key(
        "receiver", 8, ge=0, le=64, description="progress counters a heartbeat may carry; more get a 400"
    )
    max_metrics: int = key(
        "receiver", 16, ge=0, le=256, description="`metrics` a heartbeat may report; more get a 400"
    )
    late_factor: float = key(
        "exporter", 1.5, ge=1, description="a service is late after its declared `interval` × this"
    )
    receiver_ttl: float = key(
        "both", 10.0, ge=1, description="a receiver that has not announced itself for this long is gone"
    )
    silence_fraction: float = key(
        "exporter",
        0.8,
        gt=0,
        le=1,
        description="share of live services quiet at once that is an ingest fault",
    )
    silence_min_services: int = key(
        "exporter", 5, ge=1, description="fewer live services than this are never a fleet-wide silence"
    )
    silence_proven_after: float = key(
        "exporter",
        600.0,
        ge=0,
        description="only services first seen this long ago count towards a fleet-wide silence",
    )
    silence_max_seconds: float = key(
        "exporter",
        3600.0,
        ge=1,
        description="a fleet-wide silence ends after this long even if the quiet services never return",
    )
    client_timeout: float = Field(
        5.0,
        ge=0.5,
        le=300,
        description="seconds a client may take to send its headers, and again its body; then it is cut off",
    )
    workers: int = key("receiver", 2, ge=1, description="receiver worker processes")
    threads: int = Field(4, ge=1, description="request threads per worker (the exporter: one process)")
    rollup_retention: float = key(
        "exporter",
        8 * 86400.0,
        ge=3600,
        description="traffic kept per hour in Redis for windows; older windows count in SQL",
    )
    rollup_minute_retention: float = key(
        "exporter",
        25 * 3600.0,
        ge=600,
        description="traffic kept per minute in Redis (a window's ends are counted to the minute)",
    )
    snapshot_cache_seconds: float = key(
        "exporter",
        1.0,
        ge=0,
        description="scrapes and status calls this close together share one read of the store",
    )
    state_series: Literal["all", "current"] = key(
        "exporter",
        "all",
        description="`heartbeat_state`: every state's sample (SPEC §8), or only the current one's",
    )

    notify: Notify | None = key(
        "exporter", None, description="pages via Alertmanager: `webhook`, `slack`, `email`, `watchdog`"
    )
    alertmanager_url: str | None = key(
        "exporter",
        None,
        pattern=r"^https?://[^\s]+$",
        description="the Alertmanager whose firing alerts the status page lists",
    )
    availability_retention: float = key(
        "exporter", 400 * 86400.0, ge=86400, description="availability per day is kept this long in Redis (s)"
    )
    public: PublicSpec | None = key(
        "exporter", None, description="the public status page and badges: `{title, types, services}`"
    )
    signature_tolerance: float = key(
        "receiver", 300.0, ge=1, le=3600, description="how far a signed beat's `t` may be from the clock (s)"
    )

    @model_check(mode="after")
    def _consistent(self) -> Settings:
        problems = consistency_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def pipeline(self) -> Topology:
        return Topology(self.topology)

    def warnings(self) -> list[str]:
        """What is valid but likely wrong: said by ``--check-config`` and at every start."""
        return self.service_types.outrun_by(self.receiver_ttl)

    @cached_property
    def service_types(self) -> ServiceTypes:
        """The default types with the file's overrides and additions; ``other`` stays last."""
        merged = {t.name: t for t in DEFAULT_TYPES}
        for name, spec in self.types.items():
            merged[name] = spec.over(merged.get(name, ServiceType(name, (), 120.0, name)))
        other = merged.pop(OTHER)
        return ServiceTypes((*merged.values(), other), self.type_codes, self.jobs)


def from_mapping(raw: Mapping[str, Any]) -> Settings:
    """Settings from one merged mapping of file keys; every bad location in one ConfigError."""
    if not isinstance(raw, Mapping):
        raise ConfigError("the top level must be a mapping of keys")
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError.of(exc) from None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """File, then environment, then flags (flags whose value is None were not given).

    The layers are pydantic-settings sources, merged by it (nested sections key by key):
    the flags as the init arguments, then the environment, then the file.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get("HEARTBEAT_CONFIG")
    layers = (Environment(Settings, environ), FileValues(Settings, read_file(path) if path else {}))

    class Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            *_: Any,
            **__: Any,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, *layers)

    given = {key: value for key, value in (flags or {}).items() if value is not None}
    try:
        return Layered(**given)
    except ValidationError as exc:
        raise ConfigError.of(exc) from None
