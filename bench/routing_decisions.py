"""Routing decision latency: the indexed engine against a brute-force scan, in one run.

For 100, 1,000 and 10,000 agents (50 skills, items needing 1-3 of them, four channels with unit
costs, ten queues with mixed assignment methods) two engines get the same commands: the indexed
``RoutingEngine`` and the same engine with the reference scan selector. Every timed command is a
routing decision: new work arriving (pick an agent) or an agent freeing capacity (pick work). The
indexed engine runs the timed commands first, then the scan replays them; every outcome must be
identical (asserted); the figure is the latency of each and the ratio between them. Prints one
JSON line; progress on stderr.

Each timed figure is a whole engine command (``submit`` or ``close``: the decision, the index
updates, the trace and the ``Outcome``), measured twice: wall-clock time, and the CPU time of
this thread (``cpu_*``), which other processes on a shared VM cannot inflate. After warming up,
the process's garbage collector is settled the way the routing leader settles it once the
engine is loaded (``omniroute.routing.leader.CollectorTuning``); ``--collector python`` keeps
CPython's defaults for comparison.

    .venv/bin/python bench/routing_decisions.py [--sizes 100,1000,10000] [--ops N] [--timeout S]
                                                [--collector leader|python]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from omniroute.routing.engine import (
    Agent,
    AssignmentMethod,
    CapacityProfile,
    Outcome,
    QueueConfig,
    RoutingEngine,
    WorkItem,
    WrapUpBlocking,
)
from omniroute.routing.leader import CollectorTuning

SKILLS = [f"skill-{n:02d}" for n in range(50)]
TEAMS = 10  # skills 0-4 are team 0's core, 5-9 team 1's, ...
CHANNELS = {"chat": 2, "email": 1, "sms": 1, "voice": 6}  # unit cost of each channel
METHODS = [
    AssignmentMethod.LONGEST_IDLE,
    AssignmentMethod.HIGHEST_CAPACITY,
    AssignmentMethod.ROUND_ROBIN,
    AssignmentMethod.MOST_SKILLED,
]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: One timed command: ("submit", item, now) or ("close", item id, now).
Command = tuple[str, WorkItem | str, datetime]
#: The command, its outcome, and the offers then accepted (item, agent).
Step = tuple[Command, Outcome, list[tuple[str, str]]]
#: Wall-clock and CPU nanoseconds of each timed command.
Timings = tuple[list[int], list[int]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def queues() -> list[QueueConfig]:
    return [QueueConfig(f"team-{t}", method=METHODS[t % len(METHODS)]) for t in range(TEAMS)]


def agents(count: int, rng: random.Random) -> list[Agent]:
    """Each agent belongs to a team (its queue, its core skills) and knows a few skills besides."""
    result = []
    for n in range(count):
        team = n % TEAMS
        core = SKILLS[team * 5 : team * 5 + 5]
        skills = {s: rng.randint(3, 10) for s in rng.sample(core, rng.randint(3, 5))}
        for s in rng.sample(SKILLS, rng.randint(0, 3)):
            skills.setdefault(s, rng.randint(1, 10))
        member_of = {f"team-{team}"}
        if rng.random() < 0.3:
            member_of.add(f"team-{rng.randrange(TEAMS)}")
        profile = CapacityProfile(total_units=6, channel_units=dict(CHANNELS), wrap_up=WrapUpBlocking.NEVER)
        result.append(Agent(f"agent-{n:05d}", "available", skills, frozenset(member_of), profile))
    return result


def work(n: int, rng: random.Random, at: datetime) -> WorkItem:
    team = rng.randrange(TEAMS)
    core = SKILLS[team * 5 : team * 5 + 5]
    needs = {s: rng.randint(1, 6) for s in rng.sample(core, rng.choice((1, 1, 2, 2, 3)))}
    channel = rng.choices(list(CHANNELS), weights=(5, 2, 2, 1))[0]
    priority = rng.choice((0, 0, 0, 1))
    return WorkItem(f"item-{n:07d}", f"team-{team}", channel, at, skills=needs, priority=priority)


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000.0  # ns -> us


@dataclass
class Run:
    """The state the timed commands start from and add to."""

    engines: list[RoutingEngine]
    rng: random.Random
    now: datetime = T0
    counter: int = 0
    assigned: list[str] = field(default_factory=list)


def warm_up(run: Run, size: int) -> None:
    """Fill the agents to about two-thirds of their capacity, both engines in lockstep."""
    target = size * 4 // CHANNELS["chat"]
    warm = 0
    while len(run.assigned) < target * 2 // 3 and warm < size * 5:
        run.counter += 1
        warm += 1
        item = work(run.counter, run.rng, run.now)
        outcomes = [engine.submit(item, run.now) for engine in run.engines]
        if outcomes[0] != outcomes[1]:
            raise AssertionError(f"indexed and scan disagree while warming up on {item}:\n{outcomes}")
        for offer in outcomes[0].offers:
            for engine in run.engines:
                engine.accept(offer.item_id, offer.agent_id, run.now)
            run.assigned.append(offer.item_id)


def run_indexed(run: Run, ops: int, deadline: float) -> tuple[list[Step], Timings]:
    """The timed commands on the indexed engine: half new items (it picks an agent), half
    finished items (the freed agent picks work). Accepting offers is not a decision: not timed."""
    indexed = run.engines[0]
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    steps: list[Step] = []
    timings: list[int] = []
    cpu: list[int] = []
    for op in range(ops):
        if time.monotonic() > deadline:
            raise TimeoutError(f"--timeout reached after {op} decisions")
        run.now += timedelta(milliseconds=200)
        command: Command
        if run.assigned and run.rng.random() < 0.5:
            command = ("close", run.assigned.pop(run.rng.randrange(len(run.assigned))), run.now)
        else:
            run.counter += 1
            command = ("submit", work(run.counter, run.rng, run.now), run.now)
        method = getattr(indexed, command[0])
        cpu_started = cpu_clock()
        started = clock()
        outcome = method(*command[1:])
        timings.append(clock() - started)
        cpu.append(cpu_clock() - cpu_started)
        accepts = [(o.item_id, o.agent_id) for o in outcome.offers]
        for item_id, agent_id in accepts:
            indexed.accept(item_id, agent_id, run.now)
            run.assigned.append(item_id)
        steps.append((command, outcome, accepts))
    return steps, (timings, cpu)


def replay_scan(scan: RoutingEngine, steps: list[Step], deadline: float) -> Timings:
    """The same commands on the scan engine; every outcome must equal the indexed engine's (the
    commands only depend on the outcomes, so equal outcomes mean the same commands)."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    timings: list[int] = []
    cpu: list[int] = []
    for number, (command, expected, accepts) in enumerate(steps):
        if time.monotonic() > deadline:
            raise TimeoutError(f"--timeout reached replaying the scan at decision {number}")
        method = getattr(scan, command[0])
        cpu_started = cpu_clock()
        started = clock()
        outcome = method(*command[1:])
        timings.append(clock() - started)
        cpu.append(cpu_clock() - cpu_started)
        if outcome != expected:
            raise AssertionError(f"indexed and scan disagree on {command}:\n{expected}\n{outcome}")
        for item_id, agent_id in accepts:
            scan.accept(item_id, agent_id, command[2])
    return timings, cpu


def run_size(size: int, ops: int, seed: int, deadline: float, collector: str) -> dict[str, float | int]:
    rng = random.Random(seed)  # the same commands for both engines
    engines = [RoutingEngine(queues(), selector="indexed"), RoutingEngine(queues(), selector="scan")]
    staff = agents(size, rng)
    for engine in engines:
        for agent in staff:
            engine.add_agent(agent, T0)
    run = Run(engines, rng)
    warm_up(run, size)
    if collector == "leader":  # as the leader does once its engine is loaded (both engines here)
        CollectorTuning().loaded(sum(len(e.world.agents) + len(e.world.items) for e in engines))
    # The indexed engine runs the timed commands first and the scan replays them after, so that
    # neither pays in its timings for the other's memory traffic (a scan touches every agent).
    try:
        steps, (indexed, indexed_cpu) = run_indexed(run, ops, deadline)
        scan, scan_cpu = replay_scan(engines[1], steps, deadline)
    except TimeoutError as exc:
        raise TimeoutError(f"{size} agents: {exc}") from None
    indexed_total, scan_total = sum(indexed) / 1e9, sum(scan) / 1e9
    result: dict[str, float | int] = {
        "agents": size,
        "decisions": len(indexed),
        "offers": sum(len(accepts) for _, _, accepts in steps),
        "waiting": sum(1 for i in engines[0].world.items.values() if i.status.value == "waiting"),
        "p50_us": percentile(indexed, 0.50),
        "p99_us": percentile(indexed, 0.99),
        "decisions_per_s": round(len(indexed) / indexed_total, 1),
        "p999_us": percentile(indexed, 0.999),
        "cpu_p50_us": percentile(indexed_cpu, 0.50),
        "cpu_p99_us": percentile(indexed_cpu, 0.99),
        "cpu_decisions_per_s": round(len(indexed_cpu) / (sum(indexed_cpu) / 1e9), 1),
        "scan_p50_us": percentile(scan, 0.50),
        "scan_p99_us": percentile(scan, 0.99),
        "scan_decisions_per_s": round(len(scan) / scan_total, 1),
        "scan_cpu_p50_us": percentile(scan_cpu, 0.50),
    }
    result["ratio_p50"] = round(float(result["scan_p50_us"]) / float(result["p50_us"]), 2)
    throughput = float(result["decisions_per_s"]) / float(result["scan_decisions_per_s"])
    result["ratio_throughput"] = round(throughput, 2)
    log(f"{size} agents: {json.dumps(result)}")
    return result


def erlang_check(items: int, seeds: int) -> dict[str, object]:
    """Full-size simulator check against Erlang C: 10 agents, 8 Erlangs, 180 s, 20 s target.

    Runs the same engine through ``omniroute simulate`` with Poisson arrivals and exponential
    handle times; prints simulated against exact figures and whether they are within
    +-2 points (P(wait), service level) and +-5 % (ASA) for the mean of the seeds.
    """
    from omniroute.routing.simulate import parse_scenario, simulate
    from omniroute.workforce.erlang import average_speed_of_answer, erlang_c, service_level

    agents_n, traffic, aht, threshold = 10, 8.0, 180.0, 20.0
    rate = traffic / aht
    scenario = parse_scenario(
        {
            "name": "erlang",
            "duration": items / rate,
            "warmup": items / rate * 0.02,
            "queues": [
                {"id": "q", "method": "longest_idle", "auto_accept": True, "service_level": threshold}
            ],
            "agents": [{"name": "a", "count": agents_n, "queues": ["q"], "capacity": {"total_units": 1}}],
            "streams": [
                {
                    "name": "s",
                    "queue": "q",
                    "arrivals": {"poisson": {"per_second": rate}},
                    "handle_time": {"exponential": aht},
                }
            ],
        }
    )
    runs = [simulate(scenario, seed=seed).queue("q") for seed in range(1, seeds + 1)]
    mean = {
        "p_wait": sum(r.p_wait or 0.0 for r in runs) / seeds,
        "service_level": sum(r.service_level or 0.0 for r in runs) / seeds,
        "asa_seconds": sum(r.asa_seconds or 0.0 for r in runs) / seeds,
    }
    exact = {
        "p_wait": erlang_c(traffic, agents_n),
        "service_level": service_level(traffic, agents_n, aht, threshold),
        "asa_seconds": average_speed_of_answer(traffic, agents_n, aht),
    }
    within = (
        abs(mean["p_wait"] - exact["p_wait"]) <= 0.02
        and abs(mean["service_level"] - exact["service_level"]) <= 0.02
        and abs(mean["asa_seconds"] / exact["asa_seconds"] - 1) <= 0.05
    )
    result = {
        "items_per_seed": items,
        "seeds": seeds,
        "simulated": {k: round(v, 4) for k, v in mean.items()},
        "erlang_c": {k: round(v, 4) for k, v in exact.items()},
        "per_seed_asa": [round(r.asa_seconds or 0.0, 2) for r in runs],
        "within_tolerance": within,
    }
    log(f"erlang check: {json.dumps(result)}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--ops", type=int, default=4000, help="timed decisions per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--erlang-items", type=int, default=100_000, help="items per seed (0: skip)")
    parser.add_argument("--erlang-seeds", type=int, default=3)
    parser.add_argument(
        "--collector",
        choices=("leader", "python"),
        default="leader",
        help="settle the collector as the routing leader does (default), or keep CPython's defaults",
    )
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    runs = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            runs.append(run_size(size, args.ops, args.seed, deadline, args.collector))
            gc.unfreeze()  # the next size starts from a clean collector
    except TimeoutError as exc:
        log(f"routing_decisions: {exc}")
        return 2
    erlang = erlang_check(args.erlang_items, args.erlang_seeds) if args.erlang_items else None
    largest = runs[-1]
    print(
        json.dumps(
            {
                "bench": "routing_decisions",
                "skills": len(SKILLS),
                "runs": runs,
                "p99_us_at_largest": largest["p99_us"],
                "decisions_per_s_at_largest": largest["decisions_per_s"],
                "cpu_p99_us_at_largest": largest["cpu_p99_us"],
                "collector": args.collector,
                "erlang": erlang,
                "target_met": float(largest["p99_us"]) <= 20.0
                and float(largest["decisions_per_s"]) >= 20_000,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
