"""What Messenger Send API error codes mean for the agent and for a retry."""

from __future__ import annotations

from omniroute.channels.meta_common.graph import GraphError, classify
from omniroute.channels.port import PermanentSendError, TransientSendError

OUTSIDE_WINDOW = 2018278  # subcode of code 10
#: 10 permission (incl. outside the messaging window), 100 invalid (incl. unknown PSID),
#: 190 token, 200 permission, 551 the person is not available.
PERMANENT = frozenset({10, 100, 190, 200, 551})
#: 1200 "Temporary send message failure. Please try again later."
TRANSIENT = frozenset({1200})

HINTS = {
    OUTSIDE_WINDOW: (
        "the customer's messaging window is closed: a reply is accepted within 24 hours of the "
        "customer's last message, and an agent's reply with the HUMAN_AGENT tag (the account's "
        "human_agent_tag setting, which needs Meta's Human Agent permission) within 7 days; "
        "nothing else until the customer writes again"
    ),
    2018001: "no Messenger user matches this id for this Page",
    551: "this person is not available on Messenger right now (they may have blocked the Page)",
    190: "the Page access token is invalid or expired: update the account's access_token",
    1200: "Messenger had a temporary failure; it will be retried",
}


def to_send_error(error: GraphError) -> TransientSendError | PermanentSendError:
    return classify(error, permanent=PERMANENT, transient=TRANSIENT, hints=HINTS)
