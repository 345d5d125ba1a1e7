"""The generic adapter: Omniroute's normalised call events as signed JSON, for any vendor.

``POST`` one event object, or ``{"events": [...]}`` (up to 100), signed with
``X-Omniroute-Signature`` (see ``signing.py``). The reference CCaaS simulator reports through it.
See README.md beside this file and docs/VOICE.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from omniroute.core.clock import Clock
from omniroute.voice.adapters.generic import signing
from omniroute.voice.adapters.generic.schema import BatchIn, CallEventIn
from omniroute.voice.adapters.port import MalformedCallEvent, VoiceRequest, json_document
from omniroute.voice.model import CallEvent, TranscriptTurn, normalise_number

KIND = "generic"


class GenericVoiceAdapter:
    kind = KIND

    def __init__(self, *, provider: str = KIND, clock: Clock) -> None:
        self.provider = provider
        self._clock = clock

    def verify(self, request: VoiceRequest, secret: str) -> None:
        signing.verify(secret, request.body, request.headers.get(signing.HEADER), self._clock.now())

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CallEvent]:
        document = json_document(body)
        try:
            if isinstance(document, dict) and "events" in document:
                items = BatchIn.model_validate(document).events
            else:
                items = [CallEventIn.model_validate(document)]
        except ValidationError as exc:
            raise MalformedCallEvent(_reason(exc)) from exc
        return [self._event(item) for item in items]

    def _event(self, item: CallEventIn) -> CallEvent:
        return CallEvent(
            event_id=item.event_id,
            call_id=item.call_id,
            provider=self.provider,
            kind=item.kind,
            occurred_at=item.occurred_at,
            direction=item.direction,
            from_number=normalise_number(item.from_),
            to_number=normalise_number(item.to),
            queue=item.queue,
            ivr_data={k: _text(v) for k, v in item.ivr_data.items()},
            agent_id=item.agent_id,
            previous_call_id=item.previous_call_id,
            initial_call_id=item.initial_call_id,
            transfer_to=item.transfer_to,
            participant=item.participant,
            participant_joined=item.participant_joined,
            recording_url=item.recording_url,
            transcript=tuple(TranscriptTurn(t.speaker, t.text, t.start, t.end) for t in item.transcript),
            disposition=item.disposition,
            notes=item.notes,
            end_reason=item.end_reason,
            source_event=item.kind.value,
        )


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
