"""Routing at Dynamics' published scale: 50,000 waiting items, 10,000 agents, 5,000 per queue.

One process holds the engine. It loads 10,000 agents (four queues of 5,000, each agent in two;
50 skills; three units of capacity each) and fills every agent, then queues 50,000 more items.
Then it runs one virtual minute at 5,000 new items per minute while work finishes at the same
rate: each finish frees an agent, which must pick the best of the 50,000 waiting items it may
take, and each arrival must find out that nobody is free. Every engine call is timed; an
"offer" is a call that produced an offer. A sample of the agent-side decisions is also answered
by the brute-force scan over every waiting item, on the same state, which must agree; their
latency ratio is the baseline figure. Prints one JSON line; progress on stderr.

Garbage collection: once loaded, the process is settled the way the routing leader settles its
own after building the engine (``omniroute.routing.leader.CollectorTuning``: collect, freeze the
survivors, raise the young threshold); ``--collector python`` keeps CPython's defaults instead,
for comparison. Every collection during the measured minute is timed and reported.

    .venv/bin/python bench/routing_scale.py [--waiting N] [--agents N] [--per-minute N] [--samples N]
                                            [--collector leader|python]
"""

from __future__ import annotations

import argparse
import gc
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
from omniroute.routing.leader import CollectorTuning

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
        # Wall and CPU time spent in the scan since the caller last reset them: the timed engine
        # call takes them off, so the call's figures are the engine's alone.
        self.aside_ns = self.aside_cpu_ns = 0

    def best_item(self, agent: AgentState) -> ItemState | None:
        self.calls += 1
        started = time.perf_counter_ns()
        found = self.indexed.best_item(agent)
        spent = time.perf_counter_ns() - started
        if self.budget and self.calls % self.every == 0:
            self.budget -= 1
            started, cpu = time.perf_counter_ns(), time.thread_time_ns()
            expected = self.scan.best_item(agent)
            self.scan_ns.append(time.perf_counter_ns() - started)
            self.aside_ns += self.scan_ns[-1]
            self.aside_cpu_ns += time.thread_time_ns() - cpu
            self.indexed_ns.append(spent)
            if expected is not found:
                raise AssertionError(f"indexed and scan disagree for {agent.agent_id}: {found} vs {expected}")
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.indexed, name)


class Collections:
    """Times every garbage collection (``gc.callbacks``) while installed."""

    def __init__(self) -> None:
        self.started = 0
        self.pauses: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def __enter__(self) -> Collections:
        gc.callbacks.append(self.callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self.callback)

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter_ns()
        else:
            self.pauses[info["generation"]].append(time.perf_counter_ns() - self.started)

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            f"gen{g}": {
                "count": len(p),
                "max_ms": round(max(p, default=0) / 1e6, 3),
                "total_ms": round(sum(p) / 1e6, 1),
            }
            for g, p in self.pauses.items()
        }


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


@dataclass
class Measured:
    offer_ns: list[int]  # wall time of each call that made an offer
    other_ns: list[int]  # ... and of each that did not
    offer_cpu_ns: list[int]  # the same calls' CPU time (this thread): what other processes
    other_cpu_ns: list[int]  # on a shared VM cannot inflate
    seconds: float  # wall time of the minute, scan samples excluded


def measure(
    loaded: Loaded, check: SampledCheck, args: argparse.Namespace, rng: random.Random, deadline: float
) -> Measured | None:
    """One virtual minute: arrivals and finishes interleaved at the same rate, each call timed
    (wall and CPU time, without the time the sampled scan took inside the call)."""
    engine, assigned = loaded.engine, loaded.assigned
    offer_ns: list[int] = []
    other_ns: list[int] = []
    offer_cpu: list[int] = []
    other_cpu: list[int] = []
    aside = 0
    gap = timedelta(seconds=60.0 / args.per_minute / 2)
    now, counter = loaded.now, loaded.counter
    started = time.perf_counter()
    for step in range(args.per_minute * 2):
        if time.monotonic() > deadline:
            return None
        now += gap
        closing: str | None = None
        if step % 2:
            closing = assigned.pop(rng.randrange(len(assigned)))
        else:
            counter += 1
            arriving = work(counter, rng, now)
        check.aside_ns = check.aside_cpu_ns = 0
        t, cpu = time.perf_counter_ns(), time.thread_time_ns()
        outcome = engine.close(closing, now) if closing is not None else engine.submit(arriving, now)
        cpu = time.thread_time_ns() - cpu - check.aside_cpu_ns
        t = time.perf_counter_ns() - t - check.aside_ns
        aside += check.aside_ns
        (offer_ns if outcome.offers else other_ns).append(t)
        (offer_cpu if outcome.offers else other_cpu).append(cpu)
        for offer in outcome.offers:
            engine.accept(offer.item_id, offer.agent_id, now)
            assigned.append(offer.item_id)
    return Measured(offer_ns, other_ns, offer_cpu, other_cpu, time.perf_counter() - started - aside / 1e9)


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
    parser.add_argument(
        "--collector",
        choices=("leader", "python"),
        default="leader",
        help="settle the collector as the routing leader does (default), or keep CPython's defaults",
    )
    parser.add_argument(
        "--young-threshold",
        type=int,
        default=CollectorTuning().young_threshold,
        help="with --collector leader: the young-generation threshold it sets",
    )
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    rng = random.Random(args.seed)
    loaded = load(args, rng, deadline)
    if loaded is None:
        log("routing_scale: --timeout reached while loading")
        return 2
    engine = loaded.engine
    log(f"loaded {args.agents} agents, {len(loaded.assigned)} assigned in {loaded.seconds:.1f} s")
    settle_s = 0.0
    if args.collector == "leader":
        started = time.perf_counter()
        CollectorTuning(young_threshold=args.young_threshold).loaded(
            len(engine.world.agents) + len(engine.world.items)
        )
        settle_s = time.perf_counter() - started
        log(f"collector settled in {settle_s:.2f} s: {gc.get_freeze_count()} objects frozen")
    indexed = engine.selector
    assert isinstance(indexed, IndexedSelector)
    check = SampledCheck(indexed, ScanSelector(engine.world), every=7, budget=args.samples)
    engine.selector = check  # type: ignore[assignment]
    with Collections() as collections:
        measured = measure(loaded, check, args, rng, deadline)
    if measured is None:
        log("routing_scale: --timeout reached in the measured minute")
        return 2
    offer_ns, other_ns, window_seconds = measured.offer_ns, measured.other_ns, measured.seconds
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
        "offer_p999_ms": percentile(offer_ns, 0.999),
        "offer_max_ms": percentile(offer_ns, 1.0),
        "no_offer_p50_ms": percentile(other_ns, 0.50),
        "no_offer_p99_ms": percentile(other_ns, 0.99),
        "offer_cpu_p50_ms": percentile(measured.offer_cpu_ns, 0.50),
        "offer_cpu_p99_ms": percentile(measured.offer_cpu_ns, 0.99),
        "offer_cpu_max_ms": percentile(measured.offer_cpu_ns, 1.0),
        "no_offer_cpu_p99_ms": percentile(measured.other_cpu_ns, 0.99),
        "minute_took_s": round(window_seconds, 2),
        "load_s": round(loaded.seconds, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "collector": args.collector,
        "young_threshold": gc.get_threshold()[0],
        "settle_s": round(settle_s, 2),
        "collections": collections.summary(),
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
