"""The parts of the configuration schema: value types, validators and the nested sections.

``heartbeat_core.config.Settings`` assembles them; they live here so that each file stays one
screen of declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import NoDecode

from heartbeat_core.edges import LOG_TABLES

Identifier = Annotated[
    str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="a plain SQL identifier")
]
TypeName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
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
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _werkzeug_hash(value: str) -> str:
    if "$" not in value:
        raise ValueError("not a werkzeug hash (make one with `heartbeat-exporter hash-password`)")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TypeSpec(_Section):
    """Overrides of one service type; a new name adds a type."""

    prefixes: tuple[Annotated[str, Field(min_length=1)], ...] | None = None
    timeout: Annotated[float, Field(ge=1)] | None = None
    status_key: str | None = None
    late_after: Annotated[float, Field(gt=0)] | None = None
    min_up: Annotated[int, Field(ge=0)] | None = None
    stall_after: Annotated[float, Field(gt=0)] | None = None


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


Tokens = Annotated[tuple[Annotated[str, Field(min_length=16)], ...], NoDecode, BeforeValidator(_comma_list)]
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
