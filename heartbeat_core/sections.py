"""The parts of the configuration schema: value types, validators and the nested sections.

``heartbeat_core.config.Settings`` assembles them; they live here so that each file stays one
screen of declarations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import NoDecode

from heartbeat_core.edges import EDGES, LOG_TABLES
from heartbeat_core.job import DEFAULT_GRACE
from heartbeat_core.reporting import SloSpec
from heartbeat_core.schedule import check_schedule, check_zone
from heartbeat_core.section_base import Section as _Section
from heartbeat_core.section_base import ServiceName as ServiceName
from heartbeat_core.section_base import TypeName as TypeName
from heartbeat_core.suspicion import Detection
from heartbeat_core.types import ServiceType

Identifier = Annotated[
    str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="a plain SQL identifier")
]
EDGE_NAMES = tuple(edge.name for edge in EDGES)
Listen = tuple[str, Annotated[int, Field(gt=0, lt=65536)]]


def parse_listen(value: Any) -> Any:
    """``host:port`` (IPv6 as ``[::1]:port``) into a pair; anything else is left to the schema."""
    if not isinstance(value, str):
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not port.isascii() or not port.isdecimal():
        raise ValueError(f"expected host:port, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _comma_list(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith("["):
        return json.loads(value)  # the environment's JSON list
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


# the least work a password hash may ask of an attacker who has the configuration file
MIN_PBKDF2_ITERATIONS = 100_000
MIN_SCRYPT_N = 2**14


def _param(params: list[str], index: int, default: int) -> int:
    if len(params) <= index:
        return default
    if not params[index].isdecimal():
        raise ValueError(f"cannot read the hash's cost {params[index]!r}")
    return int(params[index])


def _werkzeug_hash(value: str) -> str:
    """A hash werkzeug can check, at a cost that still slows guessing: refused at load, not at login."""
    method, sep, rest = value.partition("$")
    if not sep or "$" not in rest:
        raise ValueError("not a werkzeug hash (make one with `heartbeat-exporter hash-password`)")
    name, *params = method.split(":")
    if name == "scrypt":
        if _param(params, 0, MIN_SCRYPT_N) < MIN_SCRYPT_N:
            raise ValueError(f"scrypt with N below {MIN_SCRYPT_N} is too cheap to guess against")
    elif name == "pbkdf2":
        if (params[0] if params else "sha256") not in ("sha256", "sha512"):
            raise ValueError("pbkdf2 needs sha256 or sha512")
        if _param(params, 1, MIN_PBKDF2_ITERATIONS) < MIN_PBKDF2_ITERATIONS:
            raise ValueError(f"pbkdf2 with fewer than {MIN_PBKDF2_ITERATIONS} iterations is too cheap")
    else:
        raise ValueError(f"unknown hash method {name!r}: use werkzeug's scrypt or pbkdf2")
    return value


class DetectionSpec(_Section):
    """A type's ``detection`` (SPEC §17): fixed (the timeout alone), shadow, or adaptive."""

    mode: Literal["fixed", "shadow", "adaptive"] = "fixed"
    phi: float = Field(8.0, gt=0)
    min_samples: int = Field(20, ge=2)
    min_std_seconds: float = Field(2.0, gt=0)
    samples: int = Field(100, ge=2, le=1000)

    @model_validator(mode="after")
    def _enough_kept(self) -> DetectionSpec:
        if self.samples < self.min_samples:
            raise ValueError("'samples' must be at least 'min_samples'")
        return self

    def detection(self) -> Detection:
        return Detection(self.mode, self.phi, self.min_samples, self.min_std_seconds, self.samples)


class TypeSpec(_Section):
    """Overrides of one service type; a new name adds a type."""

    prefixes: tuple[Annotated[str, Field(min_length=1)], ...] | None = None
    timeout: Annotated[float, Field(ge=1)] | None = None
    status_key: str | None = None
    late_after: Annotated[float, Field(gt=0)] | None = None
    min_up: Annotated[int, Field(ge=0)] | None = None
    stall_after: Annotated[float, Field(gt=0)] | None = None
    failure_threshold: Annotated[int, Field(ge=1)] | None = None
    max_lag: Annotated[float, Field(gt=0)] | None = None  # seconds a watermark may trail now
    detection: DetectionSpec | None = None  # learned lateness (SPEC §17); None: the type's
    slo: SloSpec | None = None  # an availability objective (SPEC §16)

    def over(self, base: ServiceType) -> ServiceType:
        """``base`` with these overrides; a changed timeout moves the default late_after with it."""
        return ServiceType(
            base.name,
            base.prefixes if self.prefixes is None else self.prefixes,
            base.timeout if self.timeout is None else self.timeout,
            base.status_key if self.status_key is None else self.status_key,
            self.late_after or (base.late_after if self.timeout is None else 0.0),
            base.min_up if self.min_up is None else self.min_up,
            base.stall_after if self.stall_after is None else self.stall_after,
            base.failure_threshold if self.failure_threshold is None else self.failure_threshold,
            base.max_lag if self.max_lag is None else self.max_lag,
            base.detection if self.detection is None else self.detection.detection(),
            base.slo if self.slo is None else self.slo.slo(),
        )


class JobSpec(_Section):
    """A job (SPEC §13), for a type or a name prefix under ``jobs:``: when its runs are due and
    how long they may take; ``heartbeat_core.job`` judges them."""

    schedule: Annotated[str, AfterValidator(check_schedule)] | None = None  # None: the type's timeout
    tz: Annotated[str, AfterValidator(check_zone)] = "UTC"
    grace: float = Field(DEFAULT_GRACE, ge=0)
    max_runtime: float | None = Field(None, gt=0)  # None: the type's timeout
    min_runtime: float = Field(0.0, ge=0)
    failure_threshold: int | None = Field(None, ge=1)  # None: the type's


def _known_edge(name: str) -> str:
    if name not in EDGE_NAMES:
        raise ValueError(f"unknown edge {name!r} (known: {', '.join(EDGE_NAMES)})")
    return name


EdgeName = Annotated[str, AfterValidator(_known_edge)]


class TableSpec(_Section):
    """Where one pipeline log table lives and which columns the traffic counters read."""

    table: Identifier
    id_column: Identifier = "id"
    time_column: Identifier = "created_at"
    time_kind: Literal["timestamp", "unix"] = "timestamp"
    ip_columns: tuple[Identifier, ...] = ()


DEFAULT_TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {t.name: TableSpec(table=t.name, ip_columns=t.ip_columns) for t in LOG_TABLES}
)


def with_default_tables(value: Any) -> Any:
    """Partial overrides (``{access_logs: {table: nginx}}``) on top of each table's defaults."""
    if not isinstance(value, Mapping):
        return value
    merged: dict[Any, Any] = {name: spec.model_dump() for name, spec in DEFAULT_TABLES.items()}
    for name, override in value.items():
        merged[name] = {**merged.get(name, {}), **override} if isinstance(override, Mapping) else override
    return merged


class User(_Section):
    password_hash: Annotated[str, AfterValidator(_werkzeug_hash)]
    role: Literal["admin", "viewer"] = "viewer"


def token_hash(token: str) -> str:
    """What configuration stores of an ingest token: its SHA-256, hex.

    Ingest tokens are random and long, so a fast hash is enough (a slow one would cost every
    heartbeat); the configuration then holds nothing a heartbeat could be sent with.
    """
    return hashlib.sha256(token.encode()).hexdigest()


Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, hex")]


class IngestToken(_Section):
    """Who may send heartbeats, for which names, and how much of the service cap is kept for them.

    A ``signed`` token (SPEC §18) is never sent: each beat carries an HMAC of its body keyed with
    it, so the receiver must hold the token itself (``token``), as Stripe's webhook endpoints hold
    their signing secret. Every other token is kept only as its hash.
    """

    token_hash: Sha256Hex
    prefixes: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    types: tuple[TypeName, ...] = ()  # the types its services may be; by default those its prefixes imply
    reserve: Annotated[int, Field(ge=0)] = 0
    signed: bool = False
    token: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _hash_of_token(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and isinstance(value.get("token"), str) and "token_hash" not in value:
            if len(value["token"]) < 16:
                raise ValueError("a token must have at least 16 characters")
            return {**value, "token_hash": token_hash(value["token"])}
        return value

    @model_validator(mode="after")
    def _signing_secret(self) -> IngestToken:
        if self.signed and self.token is None:
            raise ValueError("a signed token needs `token` itself: the receiver checks signatures with it")
        if self.token is not None and token_hash(self.token.get_secret_value()) != self.token_hash:
            raise ValueError("token_hash is not the hash of token")
        return self


def _as_token(value: Any) -> Any:
    """A bare string is a token itself (any name, no reserve); it is kept only as its hash."""
    if not isinstance(value, str):
        return value
    if len(value) < 16:
        raise ValueError("a token must have at least 16 characters")
    return {"token_hash": token_hash(value)}


class MetricsAuth(_Section):
    """What ``/metrics`` asks of a scraper: a bearer token, basic auth, or either.

    Both secrets are kept as SHA-256: they are machine-made and long, and a slow hash would cost
    every scrape.
    """

    bearer_token_hash: Sha256Hex | None = None
    username: Annotated[str, Field(min_length=1)] | None = None
    password_hash: Sha256Hex | None = None

    @model_validator(mode="after")
    def _complete(self) -> MetricsAuth:
        if (self.username is None) != (self.password_hash is None):
            raise ValueError("basic auth needs both username and password_hash")
        if self.bearer_token_hash is None and self.username is None:
            raise ValueError("set bearer_token_hash, or username and password_hash")
        return self


Tokens = Annotated[
    tuple[Annotated[IngestToken, BeforeValidator(_as_token)], ...], NoDecode, BeforeValidator(_comma_list)
]
ListenField = Annotated[Listen, NoDecode, BeforeValidator(parse_listen)]


def parse_links(value: Any) -> Any:
    """``["data_collection -> kafka", ...]`` or ``[[data_collection, kafka], ...]`` into pairs."""
    if not isinstance(value, (list, tuple)):
        return value
    links = []
    for item in value:
        if isinstance(item, str):
            source, arrow, target = item.partition("->")
            if not arrow:
                raise ValueError(f"expected 'source -> target', got {item!r}")
            links.append((source.strip(), target.strip()))
        else:
            links.append(item)
    return links


def table_problems(tables: Mapping[str, TableSpec]) -> list[str]:
    """Tables the pipeline does not have, or with the wrong number of IP columns."""
    problems = []
    for name, spec in tables.items():
        if name not in DEFAULT_TABLES:
            problems.append(f"tables.{name}: unknown log table (known: {', '.join(DEFAULT_TABLES)})")
        elif len(spec.ip_columns) != len(DEFAULT_TABLES[name].ip_columns):
            problems.append(
                f"tables.{name}.ip_columns: expected {len(DEFAULT_TABLES[name].ip_columns)} names"
            )
    return problems
