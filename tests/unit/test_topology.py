"""The topology: declared once in configuration, inhibitions derived from it."""

from __future__ import annotations

import pytest
import yaml

from exporter.alertconfig import alertmanager_config
from heartbeat_core.config import ConfigError, from_mapping
from heartbeat_core.topology import DEFAULT_TOPOLOGY

LOW = 'alertname=~"HeartbeatTrafficStopped|HeartbeatTrafficDrop|HeartbeatDataStale"'
BEHIND = 'alertname=~"HeartbeatStalled|HeartbeatLagging"'


def inhibitions(config: dict[str, object]) -> list[dict[str, list[str]]]:
    return list(yaml.safe_load(alertmanager_config(from_mapping(config)))["inhibit_rules"])


def held_back(rules: list[dict[str, list[str]]], root: str) -> dict[str, str]:
    """What a root's rules hold back: target alert name -> its label matcher."""
    held = {}
    for rule in rules:
        if f'service_type="{root}"' in rule["source_matchers"] or (
            root == "database" and rule["source_matchers"] == ['alertname="HeartbeatDatabaseDown"']
        ):
            name, *labels = rule["target_matchers"]
            if labels:
                held[name] = labels[0]
    return held


def test_the_default_topology_is_the_pipeline_of_the_spec() -> None:
    settings = from_mapping({})
    assert settings.topology == DEFAULT_TOPOLOGY
    assert [link.name for link in settings.pipeline.links] == [
        "data_collection_to_kafka",
        "kafka_to_database",
        "database_to_backend",
        "redis_to_backend",
        "backend_to_frontend",
    ]


def test_a_root_holds_back_everything_downstream_and_nothing_else() -> None:
    rules = inhibitions({})
    kafka = held_back(rules, "kafka")
    assert kafka[LOW] == 'edge=~"kafka_to_database|database_to_backend|backend_to_frontend"'
    assert kafka[BEHIND] == 'service_type=~"backend|frontend"'
    redis = held_back(rules, "redis")
    assert redis[LOW] == 'edge=~"redis_to_backend|backend_to_frontend"'
    assert held_back(rules, "frontend") == {}  # nothing is downstream of the frontend


def test_a_new_type_and_edge_get_their_inhibitions_without_writing_any() -> None:
    config = {
        "types": {"batch": {"prefixes": ["batch-"], "timeout": 600}},
        "topology": [*(f"{a} -> {b}" for a, b in DEFAULT_TOPOLOGY), "kafka -> batch"],
    }
    kafka = held_back(inhibitions(config), "kafka")
    assert "kafka_to_batch" in kafka[LOW]
    assert "batch" in kafka[BEHIND]


@pytest.mark.parametrize("topology", [["kafka -> nowhere"], ["kafka"], [["kafka"]], "kafka -> database"])
def test_a_bad_topology_is_refused(topology: object) -> None:
    with pytest.raises(ConfigError):
        from_mapping({"topology": topology})
