"""Resolving Messenger's watermark receipts against what the adapter sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omniroute.channels.messenger.sent_log import SentLog
from omniroute.channels.port import DeliveryStatus

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_watermark_covers_messages_sent_at_or_before_it_once() -> None:
    log = SentLog()
    log.record("psid-1", "m_1", at(0))
    log.record("psid-1", "m_2", at(10))
    log.record("psid-2", "m_x", at(1))
    assert log.reached("psid-1", DeliveryStatus.DELIVERED, at(5)) == ["m_1"]
    assert log.reached("psid-1", DeliveryStatus.DELIVERED, at(5)) == []  # nothing new
    assert log.reached("psid-1", DeliveryStatus.READ, at(10)) == ["m_1", "m_2"]
    assert log.reached("psid-1", DeliveryStatus.READ, at(99)) == []  # read messages are forgotten
    assert len(log) == 1  # m_x only


def test_a_delivery_watermark_never_reports_read_messages_again() -> None:
    log = SentLog()
    log.record("p", "m_1", at(0))
    assert log.reached("p", DeliveryStatus.READ, at(1)) == ["m_1"]
    assert log.reached("p", DeliveryStatus.DELIVERED, at(1)) == []


def test_an_echo_replaces_our_time_with_metas() -> None:
    log = SentLog()
    log.record("p", "m_1", at(10))  # our clock ran ahead of Meta's
    assert log.reached("p", DeliveryStatus.READ, at(9)) == []
    log.confirm("m_1", at(8))
    assert log.reached("p", DeliveryStatus.READ, at(9)) == ["m_1"]


def test_memory_is_bounded() -> None:
    log = SentLog(per_recipient=2, recipients=2)
    for i in range(3):
        log.record("a", f"a{i}", at(i))
    assert log.reached("a", DeliveryStatus.READ, at(99)) == ["a1", "a2"]
    log.record("b", "b0", at(0))
    log.record("c", "c0", at(0))
    log.record("d", "d0", at(0))
    assert log.reached("b", DeliveryStatus.READ, at(99)) == []  # least recently used recipient dropped
    assert log.reached("d", DeliveryStatus.READ, at(99)) == ["d0"]
