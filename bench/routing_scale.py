"""Routing at Dynamics' published scale: 50,000 waiting items, 10,000 agents, 5,000 per queue.

One process holds the engine. It loads 10,000 agents (four queues of 5,000, each agent in two;
50 skills; three units of capacity each) and fills every agent, then queues 50,000 more items.
Then it runs one virtual minute at 5,000 new items per minute while work finishes at the same
rate: each finish frees an agent, which must pick the best of the 50,000 waiting items it may
take, and each arrival must find out that nobody is free. Every engine call is timed; an
"offer" is a call that produced an offer. A sample of the agent-side decisions is also answered
by the brute-force scan over every waiting item, on the same state, which must agree; their
latency ratio is the baseline figure. Prints one JSON line; progress on stderr.

    .venv/bin/python bench/routing_scale.py [--waiting N] [--agents N] [--per-minute N] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from omniroute.routing.engine import (
    Agent,
    AssignmentMethod,
    CapacityProfile,
    QueueConfig,
    RoutingEngine,
    WorkItem,
    WrapUpBlocking,
)
from omniroute.routing.engine.indexed import IndexedSelector
from omniroute.routing.engine.reference import ScanSelector
from omniroute.routing.engine.state import AgentState, ItemState

SKILLS = [f"skill-{n:02d}" for n in range(50)]
QUEUES = 4
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class SampledCheck:
    """Stands in for the engine's selector: answers from the indexes, and for a sample of the
    agent-side decisions also by the scan, timing both and requiring the same item."""

    def __init__(self, indexed: IndexedSelector, scan: ScanSelector, every: int, budget: int) -> None:
        self.indexed, self.scan = indexed, scan
        self.every, self.budget = every, budget
        self.calls = 0
        self.indexed_ns: list[int] = []
        self.scan_ns: list[int] = []

    def best_item(self, agent: AgentState) -> ItemState | None:
        self.calls += 1
        started = time.perf_counter_ns()
        found = self.indexed.best_item(agent)
        spent = time.perf_counter_ns() - started
        if self.budget and self.calls % self.every == 0:
            self.budget -= 1
            started = time.perf_counter_ns()
            expected = self.scan.best_item(agent)
            self.scan_ns.append(time.perf_counter_ns() - started)
            self.indexed_ns.append(spent)
            if expected is not found:
                raise AssertionError(f"indexed and scan disagree for {agent.agent_id}: {found} vs {expected}")
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.indexed, name)


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6, 4) if ordered else 0.0


def work(n: int, rng: random.Random, at: datetime) -> WorkItem:
    queue = rng.randrange(QUEUES)
    core = SKILLS[queue * 10 : queue * 10 + 10]
    needs = {s: rng.randint(1, 5) for s in rng.sample(core, rng.choice((1, 2, 3)))}
    return WorkItem(f"item-{n:07d}", f"q{queue}", "chat", at, skills=needs, priority=rng.choice((0, 0, 1)))


@dataclass
class Loaded:
    engine: RoutingEngine
    assigned: list[str]
    counter: int
    now: datetime
    seconds: float


def load(args: argparse.Namespace, rng: random.Random, deadline: float) -> Loaded | None:
    """Agents in, every agent filled, then the waiting items queued behind them."""
    queues = [QueueConfig(f"q{n}", method=AssignmentMethod.LONGEST_IDLE) for n in range(QUEUES)]
    engine = RoutingEngine(queues)
    started = time.perf_counter()
    profile = CapacityProfile(total_units=3, wrap_up=WrapUpBlocking.NEVER)
    for n in range(args.agents):
        home = n % QUEUES
        member_of = frozenset({f"q{home}", f"q{(home + 1) % QUEUES}"})  # 5,000 per queue at 10,000
        skills = {s: rng.randint(3, 10) for s in rng.sample(SKILLS[home * 10 : home * 10 + 10], 7)}
        skills.update({s: rng.randint(3, 10) for s in rng.sample(SKILLS, 3)})
        engine.add_agent(Agent(f"agent-{n:05d}", "available", skills, member_of, profile), T0)
    counter = 0
    assigned: list[str] = []
    while counter - len(assigned) < args.waiting:
        counter += 1
        outcome = engine.submit(work(counter, rng, T0), T0)
        for offer in outcome.offers:
            engine.accept(offer.item_id, offer.agent_id, T0)
            assigned.append(offer.item_id)
        if time.monotonic() > deadline:
            return None
    return Loaded(engine, assigned, counter, T0, time.perf_counter() - started)


def measure(
    loaded: Loaded, args: argparse.Namespace, rng: random.Random, deadline: float
) -> tuple[list[int], list[int], float] | None:
    """One virtual minute: arrivals and finishes interleaved at the same rate, each call timed."""
    engine, assigned = loaded.engine, loaded.assigned
    offer_ns: list[int] = []
    other_ns: list[int] = []
    gap = timedelta(seconds=60.0 / args.per_minute / 2)
    now, counter = loaded.now, loaded.counter
    started = time.perf_counter()
    for step in range(args.per_minute * 2):
        if time.monotonic() > deadline:
            return None
        now += gap
        t = time.perf_counter_ns()
        if step % 2:
            outcome = engine.close(assigned.pop(rng.randrange(len(assigned))), now)
        else:
            counter += 1
            outcome = engine.submit(work(counter, rng, now), now)
        (offer_ns if outcome.offers else other_ns).append(time.perf_counter_ns() - t)
        for offer in outcome.offers:
            engine.accept(offer.item_id, offer.agent_id, now)
            assigned.append(offer.item_id)
    return offer_ns, other_ns, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--per-minute", type=int, default=5_000)
    parser.add_argument("--samples", type=int, default=40, help="agent-side decisions also answered by scan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    rng = random.Random(args.seed)
    loaded = load(args, rng, deadline)
    if loaded is None:
        log("routing_scale: --timeout reached while loading")
        return 2
    engine = loaded.engine
    log(f"loaded {args.agents} agents, {len(loaded.assigned)} assigned in {loaded.seconds:.1f} s")
    indexed = engine.selector
    assert isinstance(indexed, IndexedSelector)
    check = SampledCheck(indexed, ScanSelector(engine.world), every=7, budget=args.samples)
    engine.selector = check  # type: ignore[assignment]
    measured = measure(loaded, args, rng, deadline)
    if measured is None:
        log("routing_scale: --timeout reached in the measured minute")
        return 2
    offer_ns, other_ns, window_seconds = measured
    offer_p99 = percentile(offer_ns, 0.99)
    result = {
        "bench": "routing_scale",
        "agents": args.agents,
        "agents_per_queue": args.agents * 2 // QUEUES,
        "waiting_at_end": sum(1 for i in engine.world.items.values() if i.status.value == "waiting"),
        "calls": len(offer_ns) + len(other_ns),
        "offers": len(offer_ns),
        "offer_p50_ms": percentile(offer_ns, 0.50),
        "offer_p99_ms": offer_p99,
        "no_offer_p50_ms": percentile(other_ns, 0.50),
        "no_offer_p99_ms": percentile(other_ns, 0.99),
        "minute_took_s": round(window_seconds, 2),
        "load_s": round(loaded.seconds, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "pick_p50_ms": percentile(check.indexed_ns, 0.50),
        "scan_pick_p50_ms": percentile(check.scan_ns, 0.50),
        "scan_samples": len(check.scan_ns),
        "ratio_p50": round(
            percentile(check.scan_ns, 0.50) / max(percentile(check.indexed_ns, 0.50), 1e-6), 1
        ),
        "target_met": offer_p99 < 5.0 and window_seconds < 60.0,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
