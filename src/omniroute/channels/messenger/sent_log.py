"""Which of our messages went to whom and when, so Messenger's watermark receipts can be resolved.

Messenger's ``read`` event (and a ``delivery`` without ``mids``) carries only a watermark: "every
message sent to this person before this time". Only the outbox knows which messages those are, and
adapters cannot query it, so the adapter remembers what it sent itself.

Limits, stated plainly: the log lives in this process's memory. After a restart, or for messages
sent by another node, a watermark resolves to nothing and those messages stay at ``delivered``
(never wrong, only less informed). Times are our clock at send time, refined to Meta's own timestamp
when the ``message_echoes`` webhook reports the message; without echoes, clock skew between us and
Meta (normally well under a second with NTP) is the margin of error.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from omniroute.channels.port import STATUS_RANK, DeliveryStatus

PER_RECIPIENT = 200
RECIPIENTS = 10_000


@dataclass
class _Sent:
    mid: str
    at: datetime
    status: DeliveryStatus = DeliveryStatus.SENT


class SentLog:
    def __init__(self, per_recipient: int = PER_RECIPIENT, recipients: int = RECIPIENTS) -> None:
        self._per_recipient = per_recipient
        self._recipients = recipients
        self._by_recipient: OrderedDict[str, list[_Sent]] = OrderedDict()
        self._by_mid: dict[str, _Sent] = {}

    def record(self, recipient: str, mid: str, at: datetime) -> None:
        sent = _Sent(mid, at)
        entries = self._by_recipient.setdefault(recipient, [])
        self._by_recipient.move_to_end(recipient)
        entries.append(sent)
        self._by_mid[mid] = sent
        while len(entries) > self._per_recipient:
            self._by_mid.pop(entries.pop(0).mid, None)
        while len(self._by_recipient) > self._recipients:
            _, dropped = self._by_recipient.popitem(last=False)
            for old in dropped:
                self._by_mid.pop(old.mid, None)

    def confirm(self, mid: str, at: datetime) -> None:
        """Meta's own timestamp for one of our messages (from its echo): watermarks compare to it."""
        sent = self._by_mid.get(mid)
        if sent is not None:
            sent.at = at

    def reached(self, recipient: str, status: DeliveryStatus, watermark: datetime) -> list[str]:
        """The messages to ``recipient`` sent at or before ``watermark`` that had not reached
        ``status`` yet; they are marked so a repeated watermark reports nothing new. Read messages
        are forgotten: nothing can happen to them after that."""
        entries = self._by_recipient.get(recipient, [])
        reached = [e for e in entries if e.at <= watermark and STATUS_RANK[e.status] < STATUS_RANK[status]]
        for entry in reached:
            entry.status = status
        if status is DeliveryStatus.READ and reached:
            kept = [e for e in entries if e.status is not DeliveryStatus.READ]
            for entry in reached:
                self._by_mid.pop(entry.mid, None)
            self._by_recipient[recipient] = kept
        return [e.mid for e in reached]

    def __len__(self) -> int:
        return len(self._by_mid)
