"""Twilio error codes an agent is likely to meet, worded for the agent who sees them.

The full list is https://www.twilio.com/docs/api/errors; unknown codes are shown by number.
"""

from __future__ import annotations

DESCRIPTIONS = {
    20003: "authentication failed: check the account SID and auth token",
    20404: "the account or resource was not found",
    20429: "too many requests",
    21211: "the 'To' number is not a valid phone number",
    21408: "sending to this region is not enabled on the Twilio account",
    21602: "the message has no text and no media",
    21603: "no 'From' number or Messaging Service is configured",
    21606: "the 'From' number is not an SMS-capable number of this Twilio account",
    21610: "the customer has unsubscribed (replied STOP)",
    21612: "the 'To' number cannot be reached by SMS from this sender",
    21614: "the 'To' number is not a mobile number",
    21617: "the text is longer than 1,600 characters",
    30001: "Twilio's queue for this sender overflowed",
    30002: "the Twilio account is suspended",
    30003: "the customer's handset is unreachable",
    30004: "the message was blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "the carrier filtered the message",
    30008: "unknown error from the carrier",
    30034: "the sending number is not registered for US A2P 10DLC",
    63016: "outside the WhatsApp 24-hour window; only templates can be sent",
}


def describe_error(code: object, fallback: str) -> str:
    """``Twilio error 30003: the customer's handset is unreachable``, or ``fallback`` with no code."""
    text = str(code).strip() if code not in (None, "") else ""
    if not text:
        return fallback
    meaning = DESCRIPTIONS.get(int(text)) if text.isdigit() else None
    return f"Twilio error {text}: {meaning}" if meaning else f"Twilio error {text}"
