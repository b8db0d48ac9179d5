"""The exporter's request bodies as pydantic models: each 400 names its field, with the API's codes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from exporter.web.bodies import LAST_SECOND, Login, MaintenanceRequest, StatusQuery, validated
from heartbeat_core.errors import ApiError

WINDOW = {"service_type": "redis", "start": 100, "end": 200}


@pytest.mark.parametrize(
    ("model", "body", "code", "message"),
    [
        (StatusQuery, {"start_time": "yesterday"}, "invalid_window", "'start_time' must be Unix seconds"),
        (
            StatusQuery,
            {"end_time": 10**400},
            "invalid_window",
            f"'end_time' must be between 0 and {LAST_SECOND}",
        ),
        (StatusQuery, {"history": 1}, "invalid_field", "'history' must be true or false"),
        (MaintenanceRequest, {**WINDOW, "start": None}, "invalid_field", "'start' must be Unix seconds"),
        (MaintenanceRequest, {"service_type": "redis", "end": 5}, "invalid_field", "'start' is required"),
        (
            MaintenanceRequest,
            {"start": 1, "end": 2},
            "missing_field",
            "needs 'service_type', 'service_prefix'",
        ),
        (MaintenanceRequest, {**WINDOW, "end": 100}, "invalid_field", "'end' must be after 'start'"),
        (
            MaintenanceRequest,
            {**WINDOW, "reason": "x" * 501},
            "invalid_field",
            "'reason' must be a string of",
        ),
        (
            MaintenanceRequest,
            {**WINDOW, "service_prefix": " "},
            "invalid_field",
            "'service_prefix' must be a",
        ),
        (Login, {"username": 7, "password": "pw"}, "invalid_body", "'username' must be a string"),
        (Login, ["alice", "pw"], "invalid_body", "the body must be a JSON object"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    model: type[BaseModel], body: Any, code: str, message: str
) -> None:
    route_code = {StatusQuery: "invalid_window", MaintenanceRequest: "invalid_field", Login: "invalid_body"}
    with pytest.raises(ApiError) as caught:
        validated(model, body, route_code[model])
    assert (caught.value.status, caught.value.code) == (400, code)
    assert message in caught.value.message


def test_good_bodies_keep_their_values_and_ignore_the_rest() -> None:
    query = validated(StatusQuery, {"start_time": 5, "history": True, "colour": "blue"}, "invalid_window")
    assert (query.start_time, query.end_time, query.history, query.trend) == (5.0, None, True, False)
    window = validated(MaintenanceRequest, {**WINDOW, "reason": "upgrade"}, "invalid_field")
    assert window.model_dump() == {
        "service_type": "redis", "service_prefix": None, "start": 100.0, "end": 200.0, "reason": "upgrade",
    }  # fmt: skip
