"""Affinity and preferred agents; transfer to an agent or a queue; consults."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, only_offer, with_agents

from omniroute.routing.engine import (
    CapacityReleased,
    ConsultEnded,
    ConsultStarted,
    InvalidState,
    ItemStatus,
    QueueConfig,
    Release,
)


def test_preferred_agents_in_order_before_the_method(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("idle"), agent("p1", presence="away"), agent("p2"))
    out = e.submit(item("i1", preferred=("p1", "p2")), at(0))
    assert only_offer(out).agent_id == "p2"
    assert only_offer(out).why == "preferred agent"


def test_affinity_goes_before_preferred(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("p1"), agent("last"))
    out = e.submit(item("i1", preferred=("p1",), affinity="last"), at(0))
    assert (only_offer(out).agent_id, only_offer(out).why) == ("last", "same agent as before")


def test_preferred_agents_must_still_qualify(selector: str) -> None:
    e = with_agents(
        engine(selector=selector), agent("p1", skills={"es": 2}), agent("other", skills={"es": 9})
    )
    assert offers(e.submit(item("i1", skills={"es": 5}, preferred=("p1",)), at(0))) == {"i1": "other"}


def test_a_preferred_agent_who_declines_loses_the_preference(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("p1"), agent("other"))
    e.submit(item("i1", preferred=("p1",)), at(0))
    assert offers(e.reject("i1", "p1", at(1))) == {"i1": "other"}


def test_preferred_item_waits_in_queue_when_preferred_are_busy(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("p1", presence="away"), agent("b", presence="away"))
    e.submit(item("i1", preferred=("p1",)), at(0))
    assert offers(e.set_presence("b", "available", at(1))) == {"i1": "b"}


def test_transfer_to_agent_goes_only_to_that_agent(selector: str) -> None:
    e = with_agents(
        engine(QueueConfig("q"), QueueConfig("other"), selector=selector),
        agent("a"),
        agent("idle"),
        agent("expert", presence="away", queues=["other"]),
    )
    e.submit(item("i1"), at(0))
    e.accept("i1", "a", at(1))
    out = e.transfer_to_agent("i1", "expert", at(2))
    assert out.releases == [CapacityReleased("i1", "a", at(2), Release.TRANSFERRED)]
    assert not out.offers  # expert is away: the item waits for them, not for the queue
    assert offers(e.set_presence("expert", "available", at(3))) == {"i1": "expert"}


def test_a_declined_transfer_goes_back_to_the_queue(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away"), agent("b"))
    e.submit(item("i1"), at(0))
    e.accept("i1", "b", at(1))
    e.set_presence("a", "available", at(2))
    assert offers(e.transfer_to_agent("i1", "a", at(3))) == {"i1": "a"}
    assert offers(e.reject("i1", "a", at(4))) == {"i1": "b"}


def test_transfer_to_queue_uses_the_new_queues_rules(selector: str) -> None:
    e = with_agents(
        engine(QueueConfig("q"), QueueConfig("billing"), selector=selector),
        agent("a"),
        agent("biller", queues=["billing"], skills={"refunds": 7}),
    )
    e.submit(item("i1"), at(0))
    e.accept("i1", "a", at(1))
    out = e.transfer_to_queue("i1", "billing", at(2), skills={"refunds": 5}, priority=3)
    assert offers(out) == {"i1": "biller"}
    assert e.load("a") == {}


def test_consult_uses_no_capacity(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=1), agent("helper", units=1))
    e.submit(item("i1"), at(0))
    e.accept("i1", "a", at(1))
    assert e.consult("i1", "helper", at(2)).decisions == (ConsultStarted("i1", "helper", at(2)),)
    assert e.load("helper") == {}
    assert offers(e.submit(item("i2"), at(3))) == {"i2": "helper"}  # still has room
    out = e.end_work("i1", at(4))
    assert ConsultEnded("i1", "helper", at(4)) in out.decisions


def test_consult_needs_assigned_work(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away"), agent("b"))
    e.submit(item("i1"), at(0))
    with pytest.raises(InvalidState):
        e.consult("i1", "b", at(1))
    assert e.item_status("i1") is ItemStatus.OFFERED
