"""Routed work another agent takes over outside routing (``hand_over``): a reserved call the
provider connected, or a call transferred at the provider inside one call id."""

from __future__ import annotations

from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import Assigned, CapacityReleased, ItemStatus, OfferClosed, OfferEnd, Release


def test_the_reserved_agent_answering_is_an_accept_even_after_the_offer_timeout() -> None:
    e = with_agents(engine(), agent("ana", units=1, channel_units={"voice": 1}))
    assert offers(e.submit(item("call", channel="voice"), at(0))) == {"call": "ana"}
    taken = e.hand_over("call", "ana", at(600))  # long after the offer timeout: the call is live
    assert [type(d) for d in taken.decisions] == [Assigned]
    assert (e.item_status("call"), e.holder("call")) == (ItemStatus.ASSIGNED, "ana")
    assert e.load("ana") == {"call": 1}
    assert offers(e.advance(at(700))) == {}  # no timeout fires for it any more


def test_someone_else_answering_withdraws_the_reservation_and_holds_the_call() -> None:
    e = with_agents(engine(), agent("ana", units=1), agent("ben", units=1, idle_since=at(5)))
    assert offers(e.submit(item("call", channel="voice"), at(10))) == {"call": "ana"}
    taken = e.hand_over("call", "ben", at(11))
    closed = [d for d in taken.decisions if isinstance(d, OfferClosed)]
    assert [(d.agent_id, d.reason) for d in closed] == [("ana", OfferEnd.WITHDRAWN)]
    assert e.holder("call") == "ben"
    assert e.load("ana") == {}
    assert offers(e.submit(item("chat", t=12), at(12))) == {"chat": "ana"}


def test_a_transfer_inside_one_call_moves_the_capacity_to_the_new_agent() -> None:
    e = with_agents(engine(), agent("ana", units=1), agent("ben", units=1))
    e.occupy(item("call", channel="voice"), "ana", at(1))
    moved = e.hand_over("call", "ben", at(2))
    released = [d for d in moved.decisions if isinstance(d, CapacityReleased)]
    assert [(d.agent_id, d.reason) for d in released] == [("ana", Release.TRANSFERRED)]
    assert (e.holder("call"), e.load("ben"), e.load("ana")) == ("ben", {"call": 1}, {})
    assert e.hand_over("call", "ben", at(3)).decisions == ()  # the same agent again: nothing changes
    assert offers(e.submit(item("chat", t=4), at(4))) == {"chat": "ana"}
