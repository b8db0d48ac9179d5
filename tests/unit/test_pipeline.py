"""The pipeline edges' states: one rule, from the topology, the sources' states and the counted rows."""

from __future__ import annotations

from collections import Counter

from exporter.sql.traffic import EdgeSeries, TrafficSnapshot
from exporter.state.pipeline import EdgeRates, edge_states
from heartbeat_core.config import from_mapping

SETTINGS = from_mapping({"types": {"kafka": {"min_up": 2}}})
NOW = 1_763_800_000.0


def snapshot(**totals: int) -> TrafficSnapshot:
    edges = {edge: (EdgeSeries("s", "t", n),) for edge, n in totals.items()}
    return TrafficSnapshot(edges, {}, {}, {}, None, {}, {})


def states(rates: EdgeRates, counts: Counter[tuple[str, str]], **kwargs: object) -> dict[str, str]:
    options: dict[str, object] = {"database_up": True, "blind": False, "now": NOW, **kwargs}
    views = edge_states(SETTINGS.pipeline, counts, SETTINGS.service_types, rates=rates, **options)  # type: ignore[arg-type]
    return {view.edge: view.state for view in views}


def all_up() -> Counter[tuple[str, str]]:
    return Counter({(t, "up"): 3 for t in ("data_collection", "kafka", "redis", "backend", "frontend")})


def test_rows_arriving_flow_and_none_arriving_stall() -> None:
    rates = EdgeRates()
    rates.observe(snapshot(data_collection_to_kafka=100, kafka_to_database=100), NOW - 60)
    rates.observe(snapshot(data_collection_to_kafka=160, kafka_to_database=100), NOW)
    found = states(rates, all_up())
    assert found["data_collection_to_kafka"] == "flowing" and found["kafka_to_database"] == "stalled"
    assert rates.per_minute("data_collection_to_kafka", NOW) == 60
    assert found["backend_to_frontend"] == "unknown"  # never counted


def test_a_down_source_blocks_what_it_feeds() -> None:
    rates = EdgeRates()
    for when, n in ((NOW - 60, 100), (NOW, 100)):
        rates.observe(snapshot(data_collection_to_kafka=n, kafka_to_database=n, database_to_backend=n), when)
    counts = all_up()
    counts[("kafka", "up")], counts[("kafka", "late")] = 1, 0  # below its quorum of 2
    found = states(rates, counts, database_up=False)
    assert found["kafka_to_database"] == "blocked_upstream"
    assert found["database_to_backend"] == "blocked_upstream"  # the database probe fails
    assert found["data_collection_to_kafka"] == "stalled"


def test_blind_is_unknown_everywhere() -> None:
    rates = EdgeRates()
    rates.observe(snapshot(data_collection_to_kafka=1), NOW - 60)
    rates.observe(snapshot(data_collection_to_kafka=2), NOW)
    assert set(states(rates, all_up(), blind=True).values()) == {"unknown"}


def test_rates_go_stale_when_polls_stop() -> None:
    rates = EdgeRates(window=300)
    rates.observe(snapshot(data_collection_to_kafka=1), NOW - 900)
    rates.observe(snapshot(data_collection_to_kafka=2), NOW - 800)
    assert rates.per_minute("data_collection_to_kafka", NOW) is None
