from __future__ import annotations

import pytest

from heartbeat_core.config import Settings, from_mapping


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("数据采集-1", "data_collection"),
        ("Collector-eu-3", "data_collection"),
        ("KAFKA-broker-2", "kafka"),
        ("redis-cache", "redis"),
        ("后端-api", "backend"),
        ("Backend-7", "backend"),
        ("前端-web", "frontend"),
        ("nginx-edge", "other"),
        ("my-kafka", "other"),  # prefixes match the start of the name only
    ],
)
def test_type_comes_from_the_first_matching_prefix(name: str, expected: str) -> None:
    assert Settings().service_types.classify(name) == expected


def test_an_explicit_known_type_wins_over_the_prefix() -> None:
    rules = Settings().service_types
    assert rules.classify("kafka-1", "redis") == "redis"
    assert rules.classify("kafka-1", "no-such-type") == "kafka"


def test_numeric_codes_map_to_types_and_unknown_codes_are_other() -> None:
    rules = from_mapping({"type_codes": {4: "backend"}}).service_types
    assert rules.classify("type-4@10.0.0.7", 4) == "backend"
    assert rules.classify("type-4@10.0.0.7", "4") == "backend"
    assert rules.classify("type-9@10.0.0.7", 9) == "other"


def test_default_timeouts_follow_the_contract() -> None:
    rules = Settings().service_types
    timeouts = {t.name: t.timeout for t in rules.all}
    assert timeouts == {
        "data_collection": 120,
        "kafka": 120,
        "redis": 60,
        "backend": 60,
        "frontend": 60,
        "other": 120,
    }
    assert rules.by_name["kafka"].status_key == "kafka_process"
