"""A heartbeat field is declared once: the parser, the store's encoding, the record and the
receiver's OpenAPI document all follow the declarations, so none of them can drift."""

from __future__ import annotations

from typing import Any

import pytest

from heartbeat_core.checks import float_or_none
from heartbeat_core.config import from_mapping
from heartbeat_core.errors import ApiError
from heartbeat_core.fields import DEFAULT_LIMITS, FIELDS, IDENTITY, Field
from heartbeat_core.record import Beat, decode
from heartbeat_receiver.app import document
from heartbeat_receiver.heartbeat import parse

TYPES = from_mapping({}).service_types


def test_the_openapi_document_describes_every_declared_field() -> None:
    schema = document()["components"]["schemas"]["Heartbeat"]
    assert set(schema["properties"]) == {field.name for field in (*IDENTITY, *FIELDS)}
    for name, prop in schema["properties"].items():
        assert prop["description"] and "example" in prop, name


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_each_field_travels_from_the_body_to_the_record_by_its_name(field: Field[Any]) -> None:
    example = field.schema["example"]
    heartbeat = parse({"service": "kafka-1", field.name: example}, TYPES, "10.0.0.7")
    beat = Beat(heartbeat.service, heartbeat.service_type, "10.0.0.7", 1_763_800_000.0, heartbeat.fields)
    record = decode(beat.name, beat.now, 1, beat.meta())
    checked = field.check(example, DEFAULT_LIMITS)
    if field.latest:
        assert field.of(record) == checked
    else:
        assert field.of(record) is None
    scripted = dict(zip(beat.script_fields()[::2], beat.script_fields()[1::2]))
    assert (field.name in scripted) == (field.script is not None)
    if field.script is not None:
        assert scripted[field.name] == field.script(checked)
    assert record.service_type == "kafka" and record.address == "10.0.0.7"


@pytest.mark.parametrize("field", (*IDENTITY, *FIELDS), ids=lambda f: f.name)
def test_a_wrong_value_is_a_400_naming_its_field(field: Field[Any]) -> None:
    body: dict[str, Any] = {field.name: []}
    if field.name != "service_name":  # 'service' wins over the original route's spelling
        body.setdefault("service", "kafka-1")
    with pytest.raises(ApiError) as caught:
        parse(body, TYPES, "10.0.0.7")
    assert caught.value.status == 400 and f"'{field.name}'" in caught.value.message


def test_a_field_sent_as_null_or_unknown_is_ignored() -> None:
    heartbeat = parse({"service": "kafka-1", "interval": None, "colour": "blue"}, TYPES, "10.0.0.7")
    assert heartbeat.fields == {}


def test_records_of_the_layout_before_declarations_are_still_read() -> None:
    record = decode("kafka-1", 100.0, 3, "kafka\t10.0.0.7\t99.5\t30.0\tstopping\t12\tabc")
    assert (record.service_type, record.address, record.sent_at, record.interval) == (
        "kafka",
        "10.0.0.7",
        99.5,
        30.0,
    )
    assert record.stopping and record.instance == "abc" and record.reported["seq"] == 12
    assert decode("x", 1.0, 1, "other\t\t").reported == {}


def test_a_damaged_stored_value_reads_as_absent() -> None:
    record = decode("kafka-1", 100.0, 1, '{"service_type": "kafka", "interval": "soon", "seq": 4}')
    assert record.interval is None and record.reported == {"seq": 4}


def test_stored_numbers_read_back_through_one_parser_and_damage_reads_as_absent() -> None:
    """Redis gives text, the kept JSON gives numbers: both through ``float_or_none``; a damaged
    field is absent, never a failed scrape."""
    assert [float_or_none(v) for v in ("1763800000.25", 7, 2.5, "-3")] == [1763800000.25, 7.0, 2.5, -3.0]
    assert [float_or_none(v) for v in ("", None, "x1", True, [1], {"a": 1})] == [None] * 6
