"""Amazon Connect contact events (EventBridge JSON) to normalised call events. Pure.

One EventBridge event is one contact event: ``detail-type: "Amazon Connect Contact Event"``, the
contact in ``detail``. The EventBridge ``id`` is the idempotency key (EventBridge keeps it when
it retries a delivery). AWS documents the detail fields in camelCase and shows PascalCase in some
samples, so fields are looked up without regard to case. Voice contacts only: chats, tasks and
emails are skipped, as are event types that say nothing about the call's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from omniroute.voice.adapters.port import MalformedCallEvent
from omniroute.voice.model import CallEvent, CallEventKind, Direction, normalise_number

SOURCE = "aws.connect"
DETAIL_TYPE = "Amazon Connect Contact Event"
#: Contacts our agents place (CCP, quick connects) or that Connect places back (callbacks): the
#: agent is connected first and the customer's answer is CONNECTED_TO_SYSTEM.
AGENT_FIRST = frozenset({"OUTBOUND", "EXTERNAL_OUTBOUND", "CALLBACK"})
TRANSFERS = frozenset({"TRANSFER", "QUEUE_TRANSFER"})
DIRECTIONS = {
    "INBOUND": Direction.INBOUND,
    "OUTBOUND": Direction.OUTBOUND,
    "EXTERNAL_OUTBOUND": Direction.OUTBOUND,
    "CALLBACK": Direction.OUTBOUND,
    "API": Direction.OUTBOUND,
}
#: Not about the call: a supervisor listening in, or the flow that runs after a disconnect.
SKIPPED_METHODS = frozenset({"MONITOR", "DISCONNECT"})
#: Connect writes this instead of "never" in some events' timestamps.
EPOCH_PLACEHOLDER = datetime(2000, 1, 1, tzinfo=UTC)


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` whatever the case of the key (``contactId`` or ``ContactId``)."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((value for key, value in obj.items() if str(key).lower() == lowered), None)


def text(obj: Any, name: str) -> str | None:
    value = field(obj, name)
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed if parsed > EPOCH_PLACEHOLDER else None


def read(document: Any, *, provider: str, instance_arn: str | None = None) -> list[CallEvent]:
    if not isinstance(document, Mapping) or not isinstance(field(document, "detail"), Mapping):
        raise MalformedCallEvent("not an EventBridge event: expected an object with 'detail'")
    if field(document, "source") != SOURCE or field(document, "detail-type") != DETAIL_TYPE:
        return []  # the rule sends other events here too; they are not ours to read
    envelope_id, envelope_time = text(document, "id"), parse_time(field(document, "time"))
    if not envelope_id or envelope_time is None:
        raise MalformedCallEvent("an EventBridge event needs 'id' and 'time'")
    detail = field(document, "detail")
    if instance_arn and text(detail, "instanceArn") != instance_arn:
        msg = f"instanceArn {text(detail, 'instanceArn')!r} is not this provider's ({instance_arn})"
        raise MalformedCallEvent(msg)
    if str(field(detail, "channel") or "").upper() != "VOICE":
        return []
    contact_id = text(detail, "contactId")
    if not contact_id:
        raise MalformedCallEvent("a contact event needs detail.contactId")
    return _Contact(detail, contact_id, envelope_id, envelope_time, provider).events()


class _Contact:
    def __init__(
        self,
        detail: Mapping[str, Any],
        contact_id: str,
        envelope_id: str,
        envelope_time: datetime,
        provider: str,
    ) -> None:
        self.detail = detail
        self.contact_id = contact_id
        self.envelope_id = envelope_id
        self.envelope_time = envelope_time
        self.provider = provider
        self.type = str(field(detail, "eventType") or "")
        self.method = str(field(detail, "initiationMethod") or "").upper()
        self.agent = field(detail, "agentInfo")
        self.queue = field(detail, "queueInfo")

    def events(self) -> list[CallEvent]:
        if self.method in SKIPPED_METHODS:
            return []
        agent_first = self.method in AGENT_FIRST
        if self.type == "INITIATED":
            return self._initiated()
        if self.type == "CONNECTED_TO_SYSTEM":
            kind = CallEventKind.ANSWERED if agent_first else CallEventKind.OFFERED
            return [self._event(kind, self._time("connectedToSystemTimestamp"))]
        if self.type == "QUEUED":
            return [self._event(CallEventKind.OFFERED, self._time("enqueueTimestamp", self.queue))]
        if self.type == "CONNECTED_TO_AGENT":
            # Agent-first contacts now ring the customer; for the others the agent just answered.
            kind = CallEventKind.RINGING if agent_first else CallEventKind.ANSWERED
            return [self._event(kind, self._time("connectedToAgentTimestamp", self.agent))]
        if self.type == "DISCONNECTED":
            reason = text(self.detail, "disconnectReason") or "disconnected"
            ended = self._event(CallEventKind.ENDED, self._time("disconnectTimestamp"), end_reason=reason)
            return [ended, *self._recordings()]
        if self.type == "COMPLETED":
            done = self._event(
                CallEventKind.WRAPUP_DONE, self._time("afterContactWorkEndTimestamp", self.agent)
            )
            return [done, *self._recordings()]
        # CONTACT_DATA_UPDATED (its tags arrive with every later event anyway), PAUSED/RESUMED
        # (tasks), AMD_DISABLED, WEBRTC_API and types added after this was written.
        return []

    def _initiated(self) -> list[CallEvent]:
        at = self._time("initiationTimestamp")
        previous = text(self.detail, "previousContactId")
        offered = self._event(CallEventKind.OFFERED, at, previous_call_id=previous)
        if self.method not in TRANSFERS or not previous:
            return [offered]
        # A transfer is a new contact; the old one hears of it here, so its record says where it went.
        transferred = CallEvent(
            event_id=f"{self.envelope_id}:transferred",
            call_id=previous,
            provider=self.provider,
            kind=CallEventKind.TRANSFERRED,
            occurred_at=at,
            transfer_to=self.contact_id,
            initial_call_id=text(self.detail, "initialContactId"),
            source_event=f"INITIATED/{self.method}",
        )
        return [transferred, offered]

    def _recordings(self) -> list[CallEvent]:
        found = field(self.detail, "recordings")
        events = []
        for index, recording in enumerate(found if isinstance(found, list) else []):
            location = text(recording, "location")
            status = str(field(recording, "status") or "AVAILABLE").upper()
            if (
                not location
                or status != "AVAILABLE"
                or str(field(recording, "mediaStreamType") or "AUDIO").upper() != "AUDIO"
            ):
                continue
            url = location if "://" in location else f"s3://{location}"
            when = parse_time(field(recording, "stopTimestamp")) or self.envelope_time
            events.append(
                CallEvent(
                    event_id=f"{self.envelope_id}:recording:{index}",
                    call_id=self.contact_id,
                    provider=self.provider,
                    kind=CallEventKind.RECORDING_AVAILABLE,
                    occurred_at=when,
                    recording_url=url,
                    source_event=f"{self.type}/recordings",
                )
            )
        return events

    def _time(self, name: str, within: Any = None) -> datetime:
        return parse_time(field(within if within is not None else self.detail, name)) or self.envelope_time

    def _event(self, kind: CallEventKind, at: datetime, **extra: Any) -> CallEvent:
        direction = DIRECTIONS.get(self.method)
        customer = normalise_number(text(field(self.detail, "customerEndpoint"), "address"))
        system = normalise_number(text(field(self.detail, "systemEndpoint"), "address")) or normalise_number(
            text(field(self.detail, "tags"), "aws:connect:systemEndpoint")
        )
        from_number, to_number = (system, customer) if direction is Direction.OUTBOUND else (customer, system)
        tags = field(self.detail, "tags")
        ivr = {
            str(k): str(v)
            for k, v in (tags.items() if isinstance(tags, Mapping) else ())
            if not str(k).startswith("aws:") and isinstance(v, (str, int, float))
        }
        return CallEvent(
            event_id=self.envelope_id,
            call_id=self.contact_id,
            provider=self.provider,
            kind=kind,
            occurred_at=at,
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            queue=text(self.queue, "queueArn"),
            ivr_data=ivr,
            agent_id=text(self.agent, "agentArn"),
            initial_call_id=text(self.detail, "initialContactId"),
            source_event=self.type,
            **extra,
        )
