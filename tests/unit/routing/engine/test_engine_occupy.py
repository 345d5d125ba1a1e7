"""Work taken outside routing (a call the CCaaS connected) uses the agent's capacity."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import InvalidState, ItemStatus


def test_a_call_holds_chats_back_until_it_ends() -> None:
    e = with_agents(engine(), agent("ana", units=2, channel_units={"voice": 2, "chat": 1}))
    taken = e.occupy(item("call", channel="voice"), "ana", at(1))
    assert offers(taken) == {}
    assert e.item_status("call") is ItemStatus.ASSIGNED
    waiting = e.submit(item("chat", t=2), at(2))
    assert offers(waiting) == {}  # a call costs all of Ana's units
    freed = e.end_work("call", at(60))
    assert offers(freed) == {"chat": "ana"}


def test_external_work_may_exceed_capacity_but_nothing_more_is_offered() -> None:
    e = with_agents(engine(), agent("ana", units=1))
    e.submit(item("chat-1", t=0), at(0))
    e.accept("chat-1", "ana", at(1))
    e.occupy(item("call", channel="voice"), "ana", at(2))  # the phone rang anyway
    assert offers(e.submit(item("chat-2", t=3), at(3))) == {}
    e.end_work("chat-1", at(4))
    assert offers(e.advance(at(5))) == {}  # still on the call
    assert offers(e.end_work("call", at(6))) == {"chat-2": "ana"}


def test_occupying_twice_or_for_an_unknown_agent_is_refused() -> None:
    e = with_agents(engine(), agent("ana"))
    e.occupy(item("call", channel="voice"), "ana", at(1))
    with pytest.raises(InvalidState):
        e.occupy(item("call", channel="voice"), "ana", at(2))
    with pytest.raises(Exception, match="nobody"):
        e.occupy(item("call-2", channel="voice"), "nobody", at(2))
