from datetime import UTC, datetime, timedelta

import pytest

from omniroute.conversations import model
from omniroute.conversations.model import Conversation, ConversationState, SenderKind
from omniroute.core.errors import Conflict, InvalidInput, PayloadTooLarge

S = ConversationState
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def conv(state: ConversationState = S.OPEN, agent: str | None = None) -> Conversation:
    return Conversation(
        id="c1",
        channel="webchat",
        customer_id="k1",
        queue_id="q1",
        state=state,
        created_at=T0,
        updated_at=T0,
        queued_at=T0,
        agent_id=agent,
    )


def test_accept_makes_open_conversation_active_with_agent() -> None:
    after = model.accept(conv(), "a1", T0 + timedelta(seconds=5))
    assert after.state is S.ACTIVE
    assert after.agent_id == "a1"
    assert after.updated_at == T0 + timedelta(seconds=5)


@pytest.mark.parametrize("state", [S.WRAP_UP, S.CLOSED, S.ACTIVE])
def test_accept_is_refused_unless_open(state: ConversationState) -> None:
    with pytest.raises(Conflict, match="cannot become active"):
        model.accept(conv(state, "a1"), "a2", T0)


def test_customer_leaving_the_queue_closes_at_once() -> None:
    after = model.end(conv(S.OPEN), SenderKind.CUSTOMER, T0)
    assert after.state is S.CLOSED
    assert after.ended_by is SenderKind.CUSTOMER
    assert after.closed_at == T0


def test_ending_an_active_conversation_goes_to_wrap_up_then_closed() -> None:
    ended = model.end(conv(S.ACTIVE, "a1"), SenderKind.AGENT, T0)
    assert ended.state is S.WRAP_UP
    assert ended.closed_at is None
    closed = model.close(ended, T0 + timedelta(minutes=1))
    assert closed.state is S.CLOSED
    assert closed.closed_at == T0 + timedelta(minutes=1)


def test_closed_is_final() -> None:
    for target in S:
        with pytest.raises(Conflict):
            model.transition(conv(S.CLOSED), target, T0)


def test_every_state_has_a_path_to_closed() -> None:
    for start in S:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in model.TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert S.CLOSED in seen


def test_customer_may_post_while_live_but_not_after_the_end() -> None:
    for state in (S.OPEN, S.ACTIVE, S.WAITING):
        model.check_can_post(conv(state, "a1"), SenderKind.CUSTOMER, "k1")
    for state in (S.WRAP_UP, S.CLOSED):
        with pytest.raises(Conflict, match="ended"):
            model.check_can_post(conv(state, "a1"), SenderKind.CUSTOMER, "k1")


def test_only_the_assigned_agent_may_post() -> None:
    model.check_can_post(conv(S.ACTIVE, "a1"), SenderKind.AGENT, "a1")
    with pytest.raises(Conflict, match="another agent"):
        model.check_can_post(conv(S.ACTIVE, "a1"), SenderKind.AGENT, "a2")
    with pytest.raises(Conflict, match="active"):
        model.check_can_post(conv(S.OPEN), SenderKind.AGENT, "a1")


def test_message_text_limits() -> None:
    assert model.check_text("  hello  ", 100) == "hello"
    with pytest.raises(InvalidInput):
        model.check_text("   ", 100)
    with pytest.raises(PayloadTooLarge):
        model.check_text("é" * 51, 100)  # 102 bytes: the limit counts bytes, not characters
