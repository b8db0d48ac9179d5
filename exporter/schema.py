"""The pipeline's log tables: their default schema, and SQL built from validated names only.

Names of tables and columns come from configuration; :func:`heartbeat_receiver.config.check_identifier`
has already refused anything but plain identifiers, and SQLAlchemy quotes them again here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from heartbeat_receiver.config import TableSpec


def table(spec: TableSpec, metadata: sa.MetaData | None = None) -> sa.Table:
    """A Core table for one log table: the id key, the IP columns and the time column."""
    time_type: sa.types.TypeEngine[Any] = (
        sa.DateTime(timezone=True) if spec.time_kind == "timestamp" else sa.Float()
    )
    columns: list[sa.Column[Any]] = [
        sa.Column(spec.id_column, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        *(sa.Column(name, sa.String(64)) for name in spec.ip_columns),
        sa.Column(spec.time_column, time_type, nullable=False),
    ]
    return sa.Table(
        spec.table,
        metadata if metadata is not None else sa.MetaData(),
        *columns,
        # the status API counts a time window: this index makes that a range scan
        sa.Index(f"ix_{spec.table}_{spec.time_column}", spec.time_column),
        sqlite_autoincrement=True,  # never reuse the id of a deleted newest row
    )


def create_schema(engine: Engine, specs: dict[str, TableSpec] | None = None) -> None:
    """Create the default log tables with their indexes (idempotent)."""
    from heartbeat_receiver.config import DEFAULT_TABLES

    metadata = sa.MetaData()
    for spec in (specs or DEFAULT_TABLES).values():
        table(spec, metadata)
    metadata.create_all(engine)


def database_label(url: str) -> str:
    """A short, stable value for the ``database`` label: never the password or a full path."""
    parsed = make_url(url)
    name = parsed.database or parsed.get_backend_name()
    if parsed.get_backend_name() == "sqlite":
        name = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "sqlite"
    return name
