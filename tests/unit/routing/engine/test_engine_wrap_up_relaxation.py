"""Wrap-up blocking and time-based relaxation (bullseye)."""

from __future__ import annotations

from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import (
    CapacityReleased,
    ItemStatus,
    QueueConfig,
    RelaxationStep,
    Relaxed,
    Release,
    WrapUpBlocking,
    WrapUpStarted,
)


def _busy_agent(selector: str, wrap_up: WrapUpBlocking, seconds: float = 0):  # type: ignore[no-untyped-def]
    e = with_agents(engine(selector=selector), agent("a", units=1, wrap_up=wrap_up, wrap_up_seconds=seconds))
    e.submit(item("i1"), at(0))
    e.accept("i1", "a", at(1))
    e.submit(item("i2"), at(2))
    return e


def test_wrap_up_never_frees_capacity_when_work_ends(selector: str) -> None:
    e = _busy_agent(selector, WrapUpBlocking.NEVER)
    out = e.end_work("i1", at(10))
    assert out.releases == [CapacityReleased("i1", "a", at(10), Release.ENDED)]
    assert offers(out) == {"i2": "a"}


def test_wrap_up_always_holds_capacity_until_closed(selector: str) -> None:
    e = _busy_agent(selector, WrapUpBlocking.ALWAYS)
    out = e.end_work("i1", at(10))
    assert out.decisions == (WrapUpStarted("i1", "a", at(10), None),)
    assert e.item_status("i1") is ItemStatus.WRAP_UP
    assert not e.advance(at(10_000)).decisions
    out = e.close("i1", at(10_001))
    assert out.releases[0].reason is Release.WRAP_UP_FINISHED
    assert offers(out) == {"i2": "a"}


def test_wrap_up_seconds_frees_capacity_after_the_delay(selector: str) -> None:
    e = _busy_agent(selector, WrapUpBlocking.SECONDS, 30)
    assert e.end_work("i1", at(10)).decisions == (WrapUpStarted("i1", "a", at(10), at(40)),)
    assert e.next_due() == at(40)
    out = e.advance(at(40))
    assert out.releases[0].reason is Release.WRAP_UP_ELAPSED
    assert offers(out) == {"i2": "a"}


def test_wrap_up_seconds_ends_early_when_closed(selector: str) -> None:
    e = _busy_agent(selector, WrapUpBlocking.SECONDS, 30)
    e.end_work("i1", at(10))
    assert offers(e.close("i1", at(12))) == {"i2": "a"}
    assert not e.advance(at(40)).decisions


def test_relaxation_lowers_proficiency_then_drops_skills(selector: str) -> None:
    queue = QueueConfig(
        "q",
        relaxation=(
            RelaxationStep(after_seconds=30, lower_proficiency_by=2),
            RelaxationStep(after_seconds=60, drop_skills=frozenset({"billing"})),
        ),
    )
    e = with_agents(
        engine(queue, selector=selector),
        agent("junior", skills={"es": 6}),
    )
    e.submit(item("i1", skills={"es": 8, "billing": 5}), at(0))
    assert e.next_due() == at(30)
    out = e.advance(at(30))
    assert out.decisions == (Relaxed("i1", 1, (("billing", 3), ("es", 6)), False, at(30)),)
    out = e.advance(at(60))
    assert offers(out) == {"i1": "junior"}
    assert "stage 2: requires es>=6" in "\n".join(e.trace("i1").lines())


def test_relaxation_to_any_member(selector: str) -> None:
    queue = QueueConfig("q", relaxation=(RelaxationStep(after_seconds=20, any_skill=True),))
    e = with_agents(engine(queue, selector=selector), agent("generalist"))
    e.submit(item("i1", skills={"fr": 9}), at(0))
    assert offers(e.advance(at(20))) == {"i1": "generalist"}


def test_relaxation_clock_restarts_in_a_new_queue(selector: str) -> None:
    relax = (RelaxationStep(after_seconds=20, any_skill=True),)
    e = with_agents(
        engine(QueueConfig("q", relaxation=relax), QueueConfig("r", relaxation=relax), selector=selector),
        agent("x", queues=["q", "r"], presence="away"),
    )
    e.submit(item("i1", skills={"fr": 9}), at(0))
    e.transfer_to_queue("i1", "r", at(15))
    e.set_presence("x", "available", at(16))
    assert not e.advance(at(20)).offers
    assert offers(e.advance(at(35))) == {"i1": "x"}
