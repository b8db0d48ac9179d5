"""The edge registry: each edge declared once, and everything derived from it consistent."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from exporter.sql.schema import init_sql
from heartbeat_core.config import from_mapping
from heartbeat_core.edges import EDGES, LOG_TABLE_BY_NAME, Edge
from heartbeat_core.sections import DEFAULT_TABLES

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_EDGES = [  # SPEC §4, in order
    "data_collection_to_kafka",
    "kafka_to_database",
    "database_to_backend",
    "redis_to_backend",
    "backend_to_frontend",
]


def test_the_edges_are_the_contracts() -> None:
    assert [edge.name for edge in EDGES] == CONTRACT_EDGES


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: e.name)
def test_each_edge_reads_a_declared_table_within_its_columns(edge: Edge) -> None:
    columns = LOG_TABLE_BY_NAME[edge.table].ip_columns
    for end in (edge.source, edge.target, *(index for _, index in edge.fields)):
        assert isinstance(end, str) or 0 <= end < len(columns)
    key = LOG_TABLE_BY_NAME[edge.table].demo_ips(random.Random(1))
    assert len(key) == len(columns)
    assert edge.row(key, 3)["count"] == 3 and all(edge.labels(key))


def test_status_json_shapes_follow_the_contract() -> None:
    by_name = {edge.name: edge for edge in EDGES}
    assert by_name["data_collection_to_kafka"].row(("10.0.0.7",), 5) == {"ip": "10.0.0.7", "count": 5}
    assert by_name["kafka_to_database"].row((), 5) == {"count": 5}
    assert by_name["redis_to_backend"].row(("10.0.1.2",), 5) == {"client_ip": "10.0.1.2", "count": 5}
    # access_logs' key is (server_addr, remote_addr): the frontend is the client
    row = by_name["backend_to_frontend"].row(("10.0.1.2", "10.0.2.9"), 5)
    assert row == {"client_ip": "10.0.2.9", "server_ip": "10.0.1.2", "count": 5}
    assert by_name["backend_to_frontend"].labels(("10.0.1.2", "10.0.2.9")) == ("10.0.1.2", "10.0.2.9")
    assert by_name["kafka_to_database"].labels(()) == ("kafka", "database")


def test_the_shipped_init_sql_is_generated_from_the_registry() -> None:
    shipped = (ROOT / "deploy" / "postgres" / "init.sql").read_text(encoding="utf-8")
    assert shipped == init_sql(DEFAULT_TABLES)
    for name, table in LOG_TABLE_BY_NAME.items():
        assert f"CREATE TABLE IF NOT EXISTS {name} (" in shipped
        assert all(f"\t{column} VARCHAR(64)" in shipped for column in table.ip_columns)


def test_init_sql_follows_custom_names() -> None:
    settings = from_mapping({"tables": {"access_logs": {"table": "nginx", "time_column": "ts"}}})
    sql = init_sql(settings.tables)
    assert "CREATE TABLE IF NOT EXISTS nginx (" in sql and "ix_nginx_ts ON nginx (ts)" in sql
    assert "access_logs" not in sql
