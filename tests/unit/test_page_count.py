"""How the alert-quality benchmark counts pages: the figures in docs/alert-quality.md rest on it."""

from __future__ import annotations

from collections import Counter

from benchmarks.quality_bench import Outcome


def outcome(*pages: list[str], **expected: int) -> Outcome:
    return Outcome("", [(float(i), names) for i, names in enumerate(pages)], Counter(expected))


def test_a_group_update_bringing_a_second_failing_service_is_not_an_unexpected_page() -> None:
    late = outcome(
        ["HeartbeatFailing/collector-1"],
        ["HeartbeatFailing/collector-1", "HeartbeatFailing/collector-2"],
        HeartbeatFailing=1,
    )
    assert late.unexpected == 0


def test_a_notification_repeating_what_was_delivered_is_unexpected() -> None:
    repeat = outcome(["HeartbeatFailing/collector-1"], ["HeartbeatFailing/collector-1"], HeartbeatFailing=1)
    assert repeat.unexpected == 1


def test_an_alert_no_fault_explains_and_a_missing_page_both_count() -> None:
    assert outcome(["HeartbeatMissing/backend-1"], HeartbeatFailing=1).unexpected == 2
    assert outcome(HeartbeatMissing=2).unexpected == 2
    assert outcome(["HeartbeatMissing/a"], ["HeartbeatMissing/b"], HeartbeatMissing=2).unexpected == 0
