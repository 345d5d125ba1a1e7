"""WhatsApp's customer-service window: a business may send free-form messages only within 24 hours
of the customer's last message; after that only pre-approved templates are accepted.

Omniroute's outbound messages are free-form (agent replies), so outside the window they must fail
with a reason the agent can act on, instead of being retried for two days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from omniroute.channels.port import PermanentSendError

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)


def check(last_customer_message_at: datetime | None, now: datetime) -> None:
    """Raise :class:`PermanentSendError` when the window is known to be closed.

    ``None`` means the time is not known here; the send goes ahead and Graph's own answer (error
    131047, "Re-engagement message") is the check.
    """
    if last_customer_message_at is None:
        return
    if now - last_customer_message_at > CUSTOMER_SERVICE_WINDOW:
        msg = (
            "outside WhatsApp's 24-hour customer-service window (the customer last wrote at "
            f"{last_customer_message_at.isoformat()}): only a pre-approved template message can be "
            "sent until the customer writes again"
        )
        raise PermanentSendError(msg)
