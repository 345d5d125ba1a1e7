"""Offers: accept, reject, time out, decline limit, auto-accept, withdrawal, pick."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, only_offer, with_agents

from omniroute.routing.engine import (
    Assigned,
    ItemStatus,
    NotPending,
    OfferClosed,
    OfferEnd,
    PresenceChanged,
    QueueConfig,
)


def test_offer_expires_after_the_queue_timeout(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q", offer_timeout_seconds=30), selector=selector), agent("a"))
    offer = only_offer(e.submit(item("i1"), at(0)))
    assert offer.expires_at == at(30)
    assert e.next_due() == at(30)
    assert not e.advance(at(29)).decisions


def test_default_offer_timeout_is_sixty_seconds(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"))
    assert only_offer(e.submit(item("i1"), at(0))).expires_at == at(60)


def test_accept_assigns(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"))
    e.submit(item("i1"), at(0))
    out = e.accept("i1", "a", at(5))
    assert out.decisions == (Assigned("i1", "a", "q", at(5), auto_accepted=False),)
    assert e.item_status("i1") is ItemStatus.ASSIGNED


def test_accepting_after_expiry_is_refused_and_the_item_moves_on(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b"))
    first = only_offer(e.submit(item("i1"), at(0)))
    out = e.accept("i1", first.agent_id, at(60))
    assert out.refused == "the offer has expired"
    assert [type(d) for d in out.decisions] == [PresenceChanged, OfferClosed, type(first)]
    assert offers(out) == {"i1": "b" if first.agent_id == "a" else "a"}


def test_only_the_offered_agent_can_answer(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b", presence="away"))
    e.submit(item("i1"), at(0))
    with pytest.raises(NotPending):
        e.accept("i1", "b", at(1))
    e.accept("i1", "a", at(1))
    with pytest.raises(NotPending):
        e.reject("i1", "a", at(2))


def test_timeout_makes_the_agent_inactive_and_reoffers(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b"))
    first = only_offer(e.submit(item("i1"), at(0))).agent_id
    out = e.advance(at(60))
    other = "b" if first == "a" else "a"
    assert out.decisions[0] == PresenceChanged(first, "inactive", "available", at(60), "missed an offer")
    assert out.closed_offers[0].reason is OfferEnd.TIMED_OUT
    assert offers(out) == {"i1": other}
    assert e.presence(first) == "inactive"
    assert e.load(first) == {}


def test_reject_goes_to_someone_who_has_not_declined(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b"))
    assert offers(e.submit(item("i1"), at(0))) == {"i1": "a"}
    assert offers(e.reject("i1", "a", at(1))) == {"i1": "b"}
    # b declines too: a is offered again (declined once, under the limit of 3).
    assert offers(e.reject("i1", "b", at(2))) == {"i1": "a"}


def test_decline_limit_excludes_the_agent_for_that_item(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q", decline_limit=2), selector=selector), agent("a"))
    e.submit(item("i1"), at(0))
    assert offers(e.reject("i1", "a", at(1))) == {"i1": "a"}
    out = e.reject("i1", "a", at(2))
    assert not out.offers
    assert e.item_status("i1") is ItemStatus.WAITING
    # Other work still reaches a; i1 waits for someone else.
    assert offers(e.submit(item("i2"), at(3))) == {"i2": "a"}
    assert offers(e.add_agent(agent("b"), at(4))) == {"i1": "b"}


def test_default_decline_limit_is_three(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"))
    e.submit(item("i1"), at(0))
    assert offers(e.reject("i1", "a", at(1))) == {"i1": "a"}
    assert offers(e.reject("i1", "a", at(2))) == {"i1": "a"}
    assert not e.reject("i1", "a", at(3)).offers


def test_auto_accept_assigns_at_once(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q", auto_accept=True), selector=selector), agent("a"))
    out = e.submit(item("i1"), at(0))
    offer = only_offer(out)
    assert offer.expires_at is None
    assert out.assignments == [Assigned("i1", "a", "q", at(0), auto_accepted=True)]
    assert e.next_due() is None


def test_going_offline_withdraws_pending_offers_but_keeps_accepted_work(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b", presence="away"))
    e.submit(item("kept"), at(0))
    e.accept("kept", "a", at(1))
    e.submit(item("pending"), at(2))
    out = e.set_presence("a", "offline", at(3))
    assert [(d.item_id, d.reason) for d in out.closed_offers] == [("pending", OfferEnd.WITHDRAWN)]
    assert e.load("a") == {"kept": 1}
    assert offers(e.set_presence("b", "available", at(4))) == {"pending": "b"}


def test_withdrawal_does_not_count_as_a_decline(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q", decline_limit=1), selector=selector), agent("a"))
    e.submit(item("i1"), at(0))
    e.set_presence("a", "offline", at(1))
    assert offers(e.set_presence("a", "available", at(2))) == {"i1": "a"}


def test_closing_an_offered_item_withdraws_it_and_frees_capacity(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=1))
    e.submit(item("i1"), at(0))
    e.submit(item("i2"), at(1))
    out = e.close("i1", at(2))
    assert out.closed_offers[0].reason is OfferEnd.WITHDRAWN
    assert offers(out) == {"i2": "a"}
    assert e.item_status("i1") is None
    assert not e.close("i1", at(3)).decisions  # closing twice is harmless


def test_pick_mode_items_wait_for_an_agent_to_pick_them(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"))
    assert not e.submit(item("i1", push=False), at(0)).offers
    out = e.pick("i1", "a", at(1))
    assert out.assignments == [Assigned("i1", "a", "q", at(1), auto_accepted=True)]
    assert e.load("a") == {"i1": 1}


def test_picking_an_item_offered_to_someone_else_withdraws_that_offer(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b", presence="away"))
    e.submit(item("i1"), at(0))
    out = e.pick("i1", "b", at(1))
    assert [(d.agent_id, d.reason) for d in out.closed_offers] == [("a", OfferEnd.WITHDRAWN)]
    assert e.holder("i1") == "b"
    assert e.load("a") == {}


def test_a_decliner_ranks_after_everyone_who_has_not_declined(selector: str) -> None:
    from omniroute.routing.engine import AssignmentMethod

    e = with_agents(
        engine(QueueConfig("q", method=AssignmentMethod.MOST_SKILLED), selector=selector),
        agent("expert", skills={"es": 9}),
        agent("novice", skills={"es": 2}),
    )
    assert offers(e.submit(item("i1", skills={"es": 1}), at(0))) == {"i1": "expert"}
    assert offers(e.reject("i1", "expert", at(1))) == {"i1": "novice"}
