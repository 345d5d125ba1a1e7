"""Twilio Voice callbacks (form-encoded) to normalised call events. Pure.

One URL can receive all four kinds of callback Twilio sends about calls; each is told apart by
its fields:

* call status callbacks (``CallSid`` + ``CallStatus``), of the customer's call and of the legs it
  ``<Dial>``s (which carry ``ParentCallSid``);
* conference status callbacks (``ConferenceSid`` + ``StatusCallbackEvent``);
* recording status callbacks (``RecordingSid`` + ``RecordingStatus``);
* real-time transcription callbacks (``TranscriptionEvent``).

The normalised ``call_id`` is always the customer's call: the ``CallSid`` of a call without a
parent, the ``ParentCallSid`` of a dialled leg, and the conference's ``FriendlyName`` for
conference callbacks (so name each conference after the customer's ``CallSid``). Conventions
and limits are in README.md beside this file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from omniroute.core import twilio_signature
from omniroute.voice.adapters.port import MalformedCallEvent
from omniroute.voice.model import CallEvent, CallEventKind, Direction, TranscriptTurn, normalise_number

#: A real callback has a few dozen fields; a body with hundreds is not Twilio's.
TERMINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})
CLIENT_PREFIX = "client:"
AGENT_LABEL_PREFIX = "agent:"
CUSTOMER_LABEL = "customer"
#: Which side of the customer's leg a transcription track is (Twilio's <Transcription> names).
TRACK_SPEAKERS = {"inbound_track": "customer", "outbound_track": "agent"}


def form_pairs(body: bytes, *, strict: bool) -> list[tuple[str, str]]:
    """The form's name/value pairs (see ``core.twilio_signature.form_pairs``), or a 400 with the reason."""
    try:
        return twilio_signature.form_pairs(body, strict=strict)
    except twilio_signature.FormError as exc:
        raise MalformedCallEvent(str(exc)) from exc


def read(pairs: Sequence[tuple[str, str]], *, provider: str, received_at: datetime) -> list[CallEvent]:
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)  # Twilio never repeats a callback field; the first one counts
    reader = _Reader(form, provider, received_at)
    if "TranscriptionEvent" in form:
        return reader.transcription()
    if form.get("RecordingSid") and "RecordingStatus" in form:
        return reader.recording()
    if form.get("ConferenceSid") and form.get("StatusCallbackEvent"):
        return reader.conference()
    if form.get("CallSid") and form.get("CallStatus"):
        return reader.call_status()
    raise MalformedCallEvent(
        "not a Twilio Voice callback: no CallStatus, conference event, recording or transcription"
    )


def client_identity(address: str | None) -> str | None:
    """``client:alice`` → ``alice``: the Twilio Client (Voice SDK) identity, i.e. an agent."""
    if address and address.startswith(CLIENT_PREFIX):
        return address[len(CLIENT_PREFIX) :] or None
    return None


def parse_time(value: str | None) -> datetime | None:
    """Twilio writes RFC 2822 (``Tue, 06 Jan 2026 09:00:00 +0000``) in call and conference
    callbacks and ISO 8601 in transcription ones."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Reader:
    def __init__(self, form: Mapping[str, str], provider: str, received_at: datetime) -> None:
        self.form = form
        self.provider = provider
        # Callbacks without a Timestamp (a phone number's plain StatusCallback) happened when sent.
        self.when = parse_time(form.get("Timestamp")) or received_at

    def event(
        self, event_id: str, call_id: str, kind: CallEventKind, source: str, **fields: Any
    ) -> CallEvent:
        fields.setdefault("occurred_at", self.when)
        return CallEvent(
            event_id=event_id,
            call_id=call_id,
            provider=self.provider,
            kind=kind,
            source_event=source,
            **fields,
        )

    # -- call status callbacks ---------------------------------------------------------------

    def call_status(self) -> list[CallEvent]:
        form = self.form
        sid, status = form["CallSid"], form["CallStatus"]
        # A leg reaches each status once, so (leg, status) identifies the callback across retries.
        event_id, source = f"{sid}:{status}", f"CallStatus={status}"
        parent = form.get("ParentCallSid")
        if parent:
            return self._dialled_leg(event_id, parent, status, source)
        caller_agent = client_identity(form.get("From"))
        # Only a call our side placed through the REST API rings the customer on this very leg; an
        # agent's browser call (From=client:…) is "inbound" to Twilio and dials the customer as a leg.
        placed_by_api = form.get("Direction", "").startswith("outbound")
        outbound = placed_by_api or caller_agent is not None
        common: dict[str, Any] = {
            "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
            "from_number": normalise_number(form.get("From")),
            "to_number": normalise_number(form.get("To")),
            "agent_id": caller_agent,
        }
        if status in TERMINAL:
            return [self.event(event_id, sid, CallEventKind.ENDED, source, end_reason=status, **common)]
        kind = CallEventKind.OFFERED
        if placed_by_api and status == "ringing":
            kind = CallEventKind.RINGING
        elif placed_by_api and status == "in-progress":
            kind = CallEventKind.ANSWERED
        # An inbound call is "in-progress" as soon as Twilio runs its TwiML (IVR, queue): offered.
        return [self.event(event_id, sid, kind, source, **common)]

    def _dialled_leg(self, event_id: str, parent: str, status: str, source: str) -> list[CallEvent]:
        agent = client_identity(self.form.get("To"))
        if status == "ringing":
            return [self.event(event_id, parent, CallEventKind.RINGING, source, agent_id=agent)]
        if status == "in-progress":
            return [self.event(event_id, parent, CallEventKind.ANSWERED, source, agent_id=agent)]
        if status in NOT_ANSWERED:
            # The dialled party did not pick up; the customer's call goes on (back to the queue).
            return [self.event(event_id, parent, CallEventKind.OFFERED, source, end_reason=status)]
        return []  # queued/initiated add nothing; a leg's "completed" is not the customer's hang-up

    # -- conference status callbacks ---------------------------------------------------------

    def conference(self) -> list[CallEvent]:
        form = self.form
        conference_sid, what = form["ConferenceSid"], form["StatusCallbackEvent"]
        call_id = form.get("FriendlyName") or conference_sid
        sequence = form.get("SequenceNumber")
        leg, label = form.get("CallSid", ""), form.get("ParticipantLabel", "")
        event_id = (
            f"{conference_sid}:{sequence}"
            if sequence
            else f"{conference_sid}:{what}:{leg}:{form.get('Timestamp', '')}"
        )
        source = f"StatusCallbackEvent={what}"
        is_customer = leg == call_id or label == CUSTOMER_LABEL
        if what == "participant-hold" and is_customer:
            return [self.event(event_id, call_id, CallEventKind.HELD, source)]
        if what == "participant-unhold" and is_customer:
            return [self.event(event_id, call_id, CallEventKind.RESUMED, source)]
        if what not in ("participant-join", "participant-leave") or is_customer or not leg:
            return []  # start/end, mute, speech, announcements; the customer's own join and leave
        joined = what == "participant-join"
        events = []
        agent = label[len(AGENT_LABEL_PREFIX) :] if label.startswith(AGENT_LABEL_PREFIX) else None
        if joined and agent:
            events.append(
                self.event(f"{event_id}:answered", call_id, CallEventKind.ANSWERED, source, agent_id=agent)
            )
        participant = label or leg
        events.append(
            self.event(
                event_id,
                call_id,
                CallEventKind.CONFERENCE,
                source,
                participant=participant,
                participant_joined=joined,
            )
        )
        return events

    # -- recordings and transcriptions -------------------------------------------------------

    def recording(self) -> list[CallEvent]:
        form = self.form
        if form["RecordingStatus"] != "completed":
            return []  # in-progress and absent (silence) recordings have nothing to listen to
        call_id, url = form.get("CallSid"), form.get("RecordingUrl")
        if not call_id or not url:
            raise MalformedCallEvent("a completed recording callback needs CallSid and RecordingUrl")
        when = self.when
        started = parse_time(form.get("RecordingStartTime"))
        duration = form.get("RecordingDuration", "")
        if started and duration.isdigit():
            when = started + timedelta(seconds=int(duration))
        return [
            self.event(
                f"{form['RecordingSid']}:completed",
                call_id,
                CallEventKind.RECORDING_AVAILABLE,
                "RecordingStatus=completed",
                recording_url=url,
                occurred_at=when,
            )
        ]

    def transcription(self) -> list[CallEvent]:
        form = self.form
        what = form["TranscriptionEvent"]
        # Partial results are superseded by the final one; started/stopped/error carry no text.
        if what != "transcription-content" or form.get("Final", "").lower() != "true":
            return []
        call_id, transcription_sid = form.get("CallSid"), form.get("TranscriptionSid")
        if not call_id or not transcription_sid:
            raise MalformedCallEvent("a transcription callback needs CallSid and TranscriptionSid")
        try:
            data = json.loads(form.get("TranscriptionData", ""))
            text = str(data["transcript"])
        except (ValueError, KeyError, TypeError) as exc:
            msg = "TranscriptionData is not Twilio's JSON with a transcript"
            raise MalformedCallEvent(msg) from exc
        track = form.get("Track", "")
        turn = TranscriptTurn(speaker=TRACK_SPEAKERS.get(track, track or "unknown"), text=text)
        sequence = form.get("SequenceId") or form.get("Timestamp", "")
        return [
            self.event(
                f"{transcription_sid}:{sequence}",
                call_id,
                CallEventKind.TRANSCRIPT_AVAILABLE,
                "TranscriptionEvent=transcription-content",
                transcript=(turn,),
            )
        ]
