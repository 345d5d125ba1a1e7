"""External chooser, restoring from a snapshot, traces, explanations and queue position."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import (
    DEFER,
    AssignmentMethod,
    ChoiceRequest,
    ChoiceRequested,
    Defer,
    InvalidState,
    ItemSnapshot,
    ItemStatus,
    OfferEnd,
    OfferState,
    QueueConfig,
    RoutingEngine,
)

EXTERNAL = QueueConfig("q", method=AssignmentMethod.EXTERNAL)


class Chooser:
    def __init__(self, answer: str | Defer | None) -> None:
        self.answer = answer
        self.requests: list[ChoiceRequest] = []

    def choose(self, request: ChoiceRequest) -> str | Defer | None:
        self.requests.append(request)
        return self.answer


def test_external_chooser_picks_among_ranked_candidates(selector: str) -> None:
    chooser = Chooser("c")
    e = with_agents(engine(EXTERNAL, selector=selector, chooser=chooser), agent("a"), agent("b"), agent("c"))
    out = e.submit(item("i1", skills={}), at(0))
    assert offers(out) == {"i1": "c"}
    assert chooser.requests[0].candidates == ("a", "b", "c")  # longest idle first


def test_external_chooser_without_an_answer_falls_back_to_the_ranking(selector: str) -> None:
    e = with_agents(engine(EXTERNAL, selector=selector, chooser=Chooser("nobody")), agent("a"), agent("b"))
    assert offers(e.submit(item("i1"), at(0))) == {"i1": "a"}


def test_external_chooser_can_answer_later(selector: str) -> None:
    e = with_agents(engine(EXTERNAL, selector=selector, chooser=Chooser(DEFER)), agent("a"), agent("b"))
    out = e.submit(item("i1"), at(0))
    assert out.decisions == (ChoiceRequested("i1", "q", ("a", "b"), at(0)),)
    assert e.item_status("i1") is ItemStatus.CHOOSING
    assert not e.add_agent(agent("c"), at(1)).offers  # parked: nobody else grabs it meanwhile
    assert offers(e.choose("i1", "b", at(2))) == {"i1": "b"}


def test_a_late_choice_of_an_agent_who_filled_up_uses_the_ranking(selector: str) -> None:
    e = with_agents(
        engine(EXTERNAL, selector=selector, chooser=Chooser(DEFER)), agent("a"), agent("b", units=1)
    )
    e.submit(item("i1"), at(0))
    e.set_presence("b", "away", at(2))
    assert offers(e.choose("i1", "b", at(3))) == {"i1": "a"}


def test_restore_rebuilds_load_offers_and_timers(selector: str) -> None:
    e = engine(selector=selector)
    out = e.restore(
        [agent("a", units=2), agent("b", units=1)],
        [
            ItemSnapshot(item("held"), state="assigned", agent_id="a"),
            ItemSnapshot(item("pending"), offer=OfferState("b", at(-10), at(50))),
            ItemSnapshot(
                item("expired"), offer=OfferState("a", at(-70), at(-10), attempt=2), declines={"b": 1}
            ),
            ItemSnapshot(item("new", t=5)),
        ],
        at(0),
    )
    assert not out.offers  # a is full (held + expired offer), b holds the pending offer
    assert e.load("a") == {"held": 1, "expired": 1}
    assert e.next_due() == at(-10)
    out = e.advance(at(0))
    assert [(d.item_id, d.reason) for d in out.closed_offers] == [("expired", OfferEnd.TIMED_OUT)]
    assert e.presence("a") == "inactive"
    assert e.item_status("expired") is ItemStatus.WAITING


def test_restore_routes_waiting_work(selector: str) -> None:
    e = engine(selector=selector)
    out = e.restore([agent("a")], [ItemSnapshot(item("i1"))], at(0))
    assert offers(out) == {"i1": "a"}
    with pytest.raises(InvalidState):
        e.restore([], [], at(1))


def test_trace_tells_the_story(selector: str) -> None:
    e = with_agents(
        engine(selector=selector),
        agent("a", skills={"es": 3}),
        agent("b", skills={"es": 8}),
        agent("c", units=1),
    )
    e.submit(item("i1", skills={"es": 5}, trace=("rule 'spanish' matched", "route to q")), at(1))
    lines = e.trace("i1").lines()
    assert lines[0].endswith("prior: rule 'spanish' matched")
    assert "queued: in q (priority 0)" in lines[2]
    assert "offered b:" in lines[3]


def test_trace_names_rejected_candidates_when_waiting(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", skills={"es": 3}))
    e.submit(item("i1", skills={"es": 5}), at(0))
    last = e.trace("i1").steps[-1]
    assert last.kind == "waiting"
    assert ("a", "missing required skills") in last.rejected


def test_trace_is_bounded(selector: str) -> None:
    from omniroute.routing.engine import EngineSettings

    e = with_agents(engine(selector=selector, settings=EngineSettings(trace_limit=5)), agent("a"))
    e.submit(item("i1"), at(0))
    for n in range(10):
        e.set_presence("a", "offline", at(n + 1))
        e.set_presence("a", "available", at(n + 1))
    trace = e.trace("i1")
    assert len(trace.steps) == 5
    assert trace.dropped > 0


def test_explain_lists_every_member(selector: str) -> None:
    e = with_agents(
        engine(selector=selector),
        agent("away", presence="away"),
        agent("novice", skills={"es": 1}),
        agent("ok", skills={"es": 6}),
    )
    e.set_presence("ok", "busy", at(0))
    e.submit(item("i1", skills={"es": 5}), at(1))
    verdicts = {v.agent_id: v.why for v in e.explain("i1")}
    assert verdicts == {
        "away": "presence not allowed",
        "novice": "missing required skills",
        "ok": "presence not allowed",
    }


def test_position_and_estimated_wait(selector: str) -> None:
    e: RoutingEngine = with_agents(engine(selector=selector), agent("a", units=1))
    for n in range(4):
        e.submit(item(f"i{n}", t=n), at(n))
    pos = e.position("i3", at(5))
    assert (pos.position, pos.waiting) == (3, 3)  # i0 is offered; i1 and i2 are ahead
    assert pos.estimated_wait_seconds == pytest.approx(3 * 300.0)  # no history yet: default handle time
    # With history: five answers 60 s apart means one per minute.
    t = 10.0
    e.accept("i0", "a", at(t))
    for n in (1, 2, 3):
        e.end_work(f"i{n - 1}", at(t + 60 * n - 1))
        e.accept(f"i{n}", "a", at(t + 60 * n))
    e.submit(item("j", t=400), at(400))
    e.submit(item("k", t=401), at(401))
    assert e.position("k", at(402)).estimated_wait_seconds is not None


def test_queue_stats(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=1), agent("b", presence="away"))
    e.submit(item("i1"), at(0))
    e.submit(item("i2"), at(0))
    stats = e.queue_stats("q", at(30))
    assert (stats.waiting, stats.offered, stats.members, stats.ready) == (1, 1, 2, 0)
    assert stats.oldest_wait_seconds == 30


def test_unknown_queue_is_refused() -> None:
    from omniroute.routing.engine import UnknownQueue

    e = RoutingEngine([QueueConfig("q")])
    with pytest.raises(UnknownQueue):
        e.submit(item("i1", queue="nope"), at(0))
