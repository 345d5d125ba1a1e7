"""What WhatsApp's error codes mean for the agent and for a retry.

Codes come both from the send call (Graph's error object) and, later, from a ``failed`` status
webhook (``statuses[].errors[]``): the Cloud API often accepts a message and only then reports why it
could not be delivered, so both paths use the same hints.
"""

from __future__ import annotations

from typing import Any

from omniroute.channels.meta_common.graph import GraphError, classify
from omniroute.channels.port import PermanentSendError, TransientSendError

RE_ENGAGEMENT = 131047
#: Template sends: wrong parameter count, unknown name/language, text too long, policy, parameter
#: format, paused, disabled, bad parameter text.
TEMPLATE_ERRORS = frozenset({132000, 132001, 132005, 132007, 132012, 132015, 132016, 132018})

#: Retrying will not help: bad request, outside the 24-hour window, undeliverable, token or policy.
PERMANENT = frozenset(
    {100, 131026, RE_ENGAGEMENT, 131005, 131008, 131009, 131021, 131031, 131051, 131052, *TEMPLATE_ERRORS}
)
#: Throughput (130429), pair rate (131056), account rate (80007) and Meta's own hiccups.
TRANSIENT = frozenset({130429, 131056, 80007, 131000, 131016, 133004})

HINTS = {
    RE_ENGAGEMENT: (
        "more than 24 hours have passed since the customer's last message, so WhatsApp only accepts "
        "a pre-approved template message until the customer writes again"
    ),
    131026: (
        "WhatsApp could not deliver it: the number may not be on WhatsApp, may have blocked this "
        "business, or runs an outdated WhatsApp"
    ),
    130429: "this number's sending throughput was exceeded; it will be retried",
    131056: "too many messages to this customer in a short time; it will be retried",
    80007: "the WhatsApp Business Account's rate limit was reached; it will be retried",
    190: "the access token is invalid or expired: update the account's access_token",
    132000: "the template's parameters do not match the approved template: sync the account's templates",
    132001: (
        "WhatsApp has no approved template with this name in this language: sync the account's "
        "templates from Meta"
    ),
    132015: "the template is paused for low quality; choose another one",
    132016: "the template is disabled for low quality; choose another one",
}


def to_send_error(error: GraphError) -> TransientSendError | PermanentSendError:
    return classify(error, permanent=PERMANENT, transient=TRANSIENT, hints=HINTS)


def describe_status_errors(errors: list[dict[str, Any]]) -> str:
    """The reason a ``failed`` status shows the agent, e.g. ``WhatsApp error 131047 (Re-engagement
    message): … — only a template …``."""
    reasons = []
    for error in errors:
        code = error.get("code")
        title = error.get("title") or error.get("message") or "error"
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        reason = f"WhatsApp error {code} ({title})"
        if details:
            reason += f": {details}"
        hint = HINTS.get(code) if isinstance(code, int) else None
        if hint:
            reason += f" — {hint}"
        reasons.append(reason)
    return "; ".join(reasons) or "WhatsApp reported the message as failed without a reason"
