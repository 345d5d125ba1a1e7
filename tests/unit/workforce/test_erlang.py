"""Erlang B/C/A against published values and independent computations.

The references here never reuse the module's code path: Erlang B/C are checked against the
textbook sums in exact integer/rational arithmetic, Erlang A against an exactly solved
(``Fraction``) birth-death chain, a numerical integral of the waiting-time density, and a
discrete-event simulation.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from fractions import Fraction

import pytest

from omniroute.workforce import (
    ErlangAResult,
    agents_for_service_level,
    average_speed_of_answer,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
    traffic_erlangs,
)
from omniroute.workforce import erlang as erlang_module

# --- independent references ---------------------------------------------------------------------


def exact_erlang_b(traffic: Fraction | int, servers: int) -> Fraction:
    """B = (A^c/c!) / sum_{k<=c} A^k/k!, multiplied through by c! to stay in integers."""
    a = Fraction(traffic)
    total = Fraction(0)
    falling = 1  # c!/k!
    for k in range(servers, -1, -1):
        total += a**k * falling
        falling *= k if k else 1
    return a**servers / total


def exact_erlang_c(traffic: Fraction | int, agents: int) -> Fraction:
    """C = (A^c/c! · c/(c-A)) / (sum_{k<c} A^k/k! + A^c/c! · c/(c-A))."""
    a = Fraction(traffic)
    top = a**agents / math.factorial(agents) * Fraction(agents) / (agents - a)
    rest = sum((a**k / math.factorial(k) for k in range(agents)), Fraction(0))
    return top / (rest + top)


def exact_erlang_a_chain(
    rate: Fraction, aht: Fraction, patience: Fraction, agents: int, states: int
) -> dict[str, float]:
    """Stationary distribution of the truncated M/M/c+M birth-death chain in exact arithmetic.

    P(abandon) comes from the throughput balance (answered rate = mu · mean busy agents), not from
    the per-state abandonment the module sums.
    """
    mu, theta = 1 / aht, 1 / patience
    weights = [Fraction(1)]
    for n in range(1, states):
        death = n * mu if n <= agents else agents * mu + (n - agents) * theta
        weights.append(weights[-1] * rate / death)
    total = sum(weights, Fraction(0))
    pi = [w / total for w in weights]
    busy = sum((min(n, agents) * p for n, p in enumerate(pi)), Fraction(0))
    queue = sum(((n - agents) * p for n, p in enumerate(pi) if n > agents), Fraction(0))
    return {
        "prob_wait": float(sum(pi[agents:], Fraction(0))),
        "prob_abandon": float(1 - mu * busy / rate),
        "mean_queue": float(queue),
        "mean_wait": float(queue / rate),
    }


def simpson(f: Callable[[float], float], lo: float, hi: float, intervals: int = 20_000) -> float:
    h = (hi - lo) / intervals
    odd = sum(f(lo + (2 * i - 1) * h) for i in range(1, intervals // 2 + 1))
    even = sum(f(lo + 2 * i * h) for i in range(1, intervals // 2))
    return float(h / 3 * (f(lo) + 4 * odd + 2 * even + f(hi)))


def erlang_a_by_density(
    rate: float, aht: float, patience: float, agents: int, threshold: float
) -> dict[str, float]:
    """Erlang A from the density of the offered wait V of a delayed arrival.

    Given that an arrival waits, V (the wait it would have with infinite patience) has density
    proportional to g(v) = exp(-b·v + x·(1 - e^{-theta·v})), b = c/AHT, x = rate/theta, and the
    arrival is answered iff its own Exp(theta) patience outlasts V. P(wait) = B·T / (1 - B + B·T)
    with T = b·∫g. Integrated numerically (Simpson); B from exact arithmetic.
    """
    b, theta = agents / aht, 1 / patience
    x = rate / theta

    def g(v: float) -> float:
        return math.exp(-b * v + x * -math.expm1(-theta * v))

    horizon = 60 * (aht + patience)
    mass = simpson(g, 0.0, horizon)
    blocking = float(exact_erlang_b(Fraction(rate * aht), agents))
    t = b * mass
    prob_wait = blocking * t / (1 - blocking + blocking * t)
    answered = simpson(lambda v: math.exp(-theta * v) * g(v), 0.0, horizon) / mass
    within = simpson(lambda v: math.exp(-theta * v) * g(v), 0.0, threshold) / mass
    answered_wait = simpson(lambda v: v * math.exp(-theta * v) * g(v), 0.0, horizon) / mass
    prob_abandon = prob_wait * (1 - answered)
    return {
        "prob_wait": prob_wait,
        "prob_abandon": prob_abandon,
        "service_level": 1 - prob_wait + prob_wait * within,
        "asa": prob_wait * answered_wait / (1 - prob_abandon),
    }


def simulate(
    rate: float, aht: float, patience: float, agents: int, customers: int, seed: int, threshold: float
) -> dict[str, float]:
    """FCFS M/M/c+M by discrete events: each arrival takes the earliest free agent unless its
    patience runs out first (abandoners never occupy an agent, so this is exact)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not secrets
    free_at = [0.0] * agents
    now = 0.0
    warm_up = customers // 50
    waited = abandoned = within = 0
    answered_wait = 0.0
    for i in range(warm_up + customers):
        now += rng.expovariate(rate)
        start = max(now, free_at[0])
        wait = start - now
        give_up = rng.expovariate(1 / patience)
        handle = rng.expovariate(1 / aht)
        answered = wait < give_up
        if answered:
            heapq.heapreplace(free_at, start + handle)
        if i < warm_up:
            continue
        waited += wait > 0
        if answered:
            answered_wait += wait
            within += wait <= threshold
        else:
            abandoned += 1
    return {
        "prob_wait": waited / customers,
        "prob_abandon": abandoned / customers,
        "asa": answered_wait / (customers - abandoned),
        "service_level": within / customers,
    }


# --- helpers ------------------------------------------------------------------------------------


def test_traffic_in_erlangs() -> None:
    assert traffic_erlangs(100, 180, 1800) == pytest.approx(10.0)
    assert traffic_erlangs(0, 180, 1800) == 0.0
    assert traffic_erlangs(360, 240, 3600) == pytest.approx(24.0)


def test_occupancy_is_traffic_over_agents_capped_at_one() -> None:
    assert occupancy(10, 14) == pytest.approx(10 / 14)
    assert occupancy(10, 10) == 1.0
    assert occupancy(12, 10) == 1.0
    assert occupancy(0, 3) == 0.0


# --- Erlang B -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traffic", "servers", "published"),
    [
        (1, 1, 0.5),
        (2, 2, 0.4),
        (10, 10, 0.2146),  # standard Erlang B table
        (5, 10, 0.0184),
        (20, 30, 0.0085),
    ],
)
def test_erlang_b_matches_tables_and_exact_sum(traffic: int, servers: int, published: float) -> None:
    value = erlang_b(traffic, servers)
    assert value == pytest.approx(float(exact_erlang_b(traffic, servers)), rel=1e-12)
    assert value == pytest.approx(published, abs=5e-5)


def test_erlang_b_edges() -> None:
    assert erlang_b(5, 0) == 1.0  # no servers: everything blocked
    assert erlang_b(0, 5) == 0.0
    assert erlang_b(10, 400) == pytest.approx(float(exact_erlang_b(10, 400)), rel=1e-9)  # ~1e-500 → 0


def test_erlang_b_is_stable_for_thousands_of_servers() -> None:
    for traffic, servers in [(1900, 2000), (2500, 2000), (9000, 10_000)]:
        value = erlang_b(traffic, servers)
        exact = float(exact_erlang_b(traffic, servers)) if servers <= 2000 else None
        assert 0.0 < value < 1.0
        if exact is not None:
            assert value == pytest.approx(exact, rel=1e-10)


# --- Erlang C -----------------------------------------------------------------------------------

# A = 10 Erlangs, as in "100 calls per 30 minutes at 180 s AHT". P(wait) rounded as in published
# Erlang C tables, and service level for 20 s / ASA as in the usual worked example (14 agents:
# 88.8 % in 20 s, ASA 7.8 s).
TEN_ERLANGS = [
    # agents, P(wait), SL(20 s), ASA s
    (11, 0.6821, 0.3896, 122.8),
    (12, 0.4494, 0.6402, 40.4),
    (13, 0.2853, 0.7956, 17.1),
    (14, 0.1741, 0.8884, 7.8),
    (15, 0.1020, 0.9415, 3.7),
]


@pytest.mark.parametrize(("agents", "prob_wait", "sl_20s", "asa"), TEN_ERLANGS)
def test_erlang_c_ten_erlangs(agents: int, prob_wait: float, sl_20s: float, asa: float) -> None:
    traffic = traffic_erlangs(100, 180, 1800)
    exact = exact_erlang_c(10, agents)
    value = erlang_c(traffic, agents)
    assert value == pytest.approx(float(exact), rel=1e-12)
    assert value == pytest.approx(prob_wait, abs=5e-5)

    sl = service_level(traffic, agents, 180, 20)
    assert sl == pytest.approx(1 - float(exact) * math.exp(-(agents - 10) * 20 / 180), rel=1e-12)
    assert sl == pytest.approx(sl_20s, abs=5e-5)

    speed = average_speed_of_answer(traffic, agents, 180)
    assert speed == pytest.approx(float(exact) * 180 / (agents - 10), rel=1e-12)
    assert speed == pytest.approx(asa, abs=0.05)


def test_erlang_c_large_and_fractional_traffic_matches_exact_sum() -> None:
    cases: list[tuple[Fraction, int]] = [
        (Fraction(37, 4), 12),
        (Fraction(1999, 2), 1020),
        (Fraction(1900), 2000),
    ]
    for traffic, agents in cases:
        assert erlang_c(float(traffic), agents) == pytest.approx(
            float(exact_erlang_c(traffic, agents)), rel=1e-10
        )


def test_erlang_c_unstable_and_empty() -> None:
    assert erlang_c(10, 10) == 1.0
    assert erlang_c(10, 9) == 1.0
    assert erlang_c(0, 1) == 0.0
    assert service_level(10, 10, 180, 20) == 0.0
    assert average_speed_of_answer(10, 9, 180) == math.inf
    assert service_level(10, 13, 180, 0) == pytest.approx(1 - erlang_c(10, 13))
    assert service_level(0, 1, 180, 20) == 1.0
    assert average_speed_of_answer(0, 1, 180) == 0.0


def test_more_agents_means_less_waiting() -> None:
    for traffic in (0.5, 10.0, 123.4, 1900.0):
        start = math.floor(traffic) + 1
        staffing = range(start, start + 60)
        waits = [erlang_c(traffic, c) for c in staffing]
        levels = [service_level(traffic, c, 300, 30) for c in staffing]
        speeds = [average_speed_of_answer(traffic, c, 300) for c in staffing]
        assert all(x > y for x, y in itertools.pairwise(waits) if x > 1e-300)
        assert all(x <= y for x, y in itertools.pairwise(levels))
        assert all(x >= y for x, y in itertools.pairwise(speeds))
        assert all(0.0 <= w <= 1.0 for w in waits)
        # Erlang C exceeds Erlang B: waiting rather than leaving keeps agents busier
        assert all(erlang_c(traffic, c) >= erlang_b(traffic, c) for c in staffing)


# --- staffing -----------------------------------------------------------------------------------


def test_agents_for_the_worked_example() -> None:
    # 100 calls / 30 min at 180 s, 80 % answered in 20 s: 13 agents give 79.6 %, 14 give 88.8 %.
    assert agents_for_service_level(10, 180, 0.8, 20) == 14
    assert agents_for_service_level(10, 180, 0.79, 20) == 13
    # a 70 % occupancy cap needs ceil(10 / 0.7) = 15
    assert agents_for_service_level(10, 180, 0.8, 20, max_occupancy=0.7) == 15
    assert agents_for_service_level(10, 180, 0.8, 20, max_occupancy=1.0) == 14
    # occupancy cap exactly reachable: 10 / 0.625 = 16 agents
    assert agents_for_service_level(10, 180, 0.5, 20, max_occupancy=0.625) == 16


def test_no_traffic_needs_no_agents() -> None:
    assert agents_for_service_level(0, 180, 0.8, 20) == 0
    assert agents_for_service_level(0, 180, 0.8, 20, max_occupancy=0.85) == 0


@pytest.mark.parametrize("traffic", [0.01, 0.9, 1.0, 7.3, 42.0, 250.5, 1900.0])
@pytest.mark.parametrize(("target", "threshold"), [(0.8, 20), (0.95, 0), (0.5, 120)])
def test_staffing_is_the_smallest_that_meets_the_target(
    traffic: float, target: float, threshold: float
) -> None:
    agents = agents_for_service_level(traffic, 240, target, threshold)
    assert agents > traffic
    assert service_level(traffic, agents, 240, threshold) >= target
    assert service_level(traffic, agents - 1, 240, threshold) < target

    capped = agents_for_service_level(traffic, 240, target, threshold, max_occupancy=0.85)
    assert capped >= agents
    assert occupancy(traffic, capped) <= 0.85
    assert capped == agents or occupancy(traffic, capped - 1) > 0.85


# --- Erlang A -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "aht", "patience", "agents"),
    [
        (Fraction(1, 18), Fraction(180), Fraction(120), 11),  # 10 Erlangs, impatient
        (Fraction(1, 18), Fraction(180), Fraction(600), 13),
        (Fraction(1, 18), Fraction(180), Fraction(300), 9),  # overloaded: A > c
        (Fraction(3, 10), Fraction(30), Fraction(45), 4),  # overloaded, short handle times
        (Fraction(1, 100), Fraction(300), Fraction(60), 1),
    ],
)
def test_erlang_a_matches_exact_birth_death_chain(
    rate: Fraction, aht: Fraction, patience: Fraction, agents: int
) -> None:
    exact = exact_erlang_a_chain(rate, aht, patience, agents, states=agents + 250)
    result = erlang_a(float(rate), float(aht), float(patience), agents)
    assert result.prob_wait == pytest.approx(exact["prob_wait"], rel=1e-10)
    assert result.prob_abandon == pytest.approx(exact["prob_abandon"], rel=1e-9)
    assert result.mean_queue_length == pytest.approx(exact["mean_queue"], rel=1e-10)
    assert result.mean_wait_seconds == pytest.approx(exact["mean_wait"], rel=1e-10)
    # abandonment rate = theta · E[queue]
    assert result.prob_abandon == pytest.approx(result.mean_wait_seconds / float(patience), rel=1e-10)
    assert result.occupancy == pytest.approx(
        float(rate * aht) * (1 - exact["prob_abandon"]) / agents, rel=1e-9
    )


@pytest.mark.parametrize(
    ("rate", "aht", "patience", "agents"),
    [(1 / 18, 180.0, 120.0, 11), (1 / 18, 180.0, 300.0, 9), (0.3, 30.0, 45.0, 4)],
)
@pytest.mark.parametrize("threshold", [5.0, 20.0, 90.0])
def test_erlang_a_matches_the_wait_density(
    rate: float, aht: float, patience: float, agents: int, threshold: float
) -> None:
    reference = erlang_a_by_density(rate, aht, patience, agents, threshold)
    result = erlang_a(rate, aht, patience, agents)
    assert result.prob_wait == pytest.approx(reference["prob_wait"], rel=1e-8)
    assert result.prob_abandon == pytest.approx(reference["prob_abandon"], rel=1e-8)
    assert result.asa_seconds == pytest.approx(reference["asa"], rel=1e-8)
    assert result.service_level(threshold) == pytest.approx(reference["service_level"], rel=1e-8)


def test_erlang_a_matches_simulation() -> None:
    rate, aht, patience, agents = 1 / 18, 180.0, 120.0, 11
    result = erlang_a(rate, aht, patience, agents)
    simulated = simulate(rate, aht, patience, agents, customers=300_000, seed=7, threshold=20.0)
    assert result.prob_wait == pytest.approx(simulated["prob_wait"], abs=0.015)
    assert result.prob_abandon == pytest.approx(simulated["prob_abandon"], abs=0.006)
    assert result.asa_seconds == pytest.approx(simulated["asa"], rel=0.05)
    assert result.service_level(20) == pytest.approx(simulated["service_level"], abs=0.015)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    for traffic, agents in [(10.0, 11), (10.0, 13), (1900.0, 2000)]:
        rate = traffic / 180
        c_wait = erlang_c(traffic, agents)
        gaps = []
        for patience in (1e3, 1e5, 1e7, 1e9):
            result = erlang_a(rate, 180, patience, agents)
            gaps.append(abs(result.prob_wait - c_wait))
            assert result.prob_wait <= c_wait  # abandons shorten the queue
        assert all(x > y for x, y in itertools.pairwise(gaps))
        patient = erlang_a(rate, 180, 1e10, agents)
        assert patient.prob_wait == pytest.approx(c_wait, rel=1e-5)
        assert patient.prob_abandon == pytest.approx(0.0, abs=1e-7)
        assert patient.asa_seconds == pytest.approx(average_speed_of_answer(traffic, agents, 180), rel=1e-5)
        assert patient.service_level(20) == pytest.approx(service_level(traffic, agents, 180, 20), rel=1e-5)
        assert patient.occupancy == pytest.approx(occupancy(traffic, agents), rel=1e-5)


def test_erlang_a_monotonicity() -> None:
    rate, aht = 1 / 18, 180.0
    by_agents = [erlang_a(rate, aht, 120, c) for c in range(1, 25)]
    for fewer, more in itertools.pairwise(by_agents):
        assert more.prob_wait < fewer.prob_wait
        assert more.prob_abandon < fewer.prob_abandon
        assert more.asa_seconds < fewer.asa_seconds
        assert more.service_level(20) > fewer.service_level(20)

    by_patience = [erlang_a(rate, aht, p, 11) for p in (10, 30, 60, 120, 300, 900)]
    for short, long in itertools.pairwise(by_patience):
        assert long.prob_abandon < short.prob_abandon
        assert long.prob_wait > short.prob_wait
        assert long.mean_wait_seconds > short.mean_wait_seconds

    result = by_agents[10]
    levels = [result.service_level(t) for t in (0, 1, 5, 20, 60, 300, 3600, 10**6)]
    assert all(x < y for x, y in itertools.pairwise(levels[:-1]))
    assert levels[0] == pytest.approx(1 - result.prob_wait)
    assert levels[-1] == pytest.approx(result.prob_answered, rel=1e-12)


def test_erlang_a_overload_at_scale() -> None:
    # 2000 agents offered 2500 Erlangs: abandons absorb the excess, about 1 - 2000/2500 = 20 %.
    rate, aht, patience = 2500 / 180, 180.0, 300.0
    result = erlang_a(rate, aht, patience, 2000)
    assert result.prob_abandon == pytest.approx(0.2, abs=0.005)
    assert result.prob_wait == pytest.approx(1.0, abs=1e-6)
    assert result.occupancy == pytest.approx(1.0, abs=1e-3)
    assert result.prob_abandon == pytest.approx(result.mean_wait_seconds / patience, rel=1e-9)
    assert 0.0 <= result.service_level(20) < 1e-6
    assert all(math.isfinite(v) for v in (result.asa_seconds, result.mean_queue_length))


def test_erlang_a_result_fields() -> None:
    result = erlang_a(1 / 18, 180, 120, 11)
    assert isinstance(result, ErlangAResult)
    assert result.offered_erlangs == pytest.approx(10.0)
    assert result.prob_answered == pytest.approx(1 - result.prob_abandon)
    assert result.agents == 11


def test_erlang_a_without_arrivals() -> None:
    result = erlang_a(0, 180, 120, 3)
    assert (result.prob_wait, result.prob_abandon, result.mean_wait_seconds) == (0.0, 0.0, 0.0)
    assert result.asa_seconds == 0.0
    assert result.service_level(20) == 1.0


def test_erlang_a_refuses_absurd_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    # mean queue ~ (arrival rate - service rate) x patience = 10^5 states, over a lowered limit
    monkeypatch.setattr(erlang_module, "MAX_QUEUE_STATES", 10_000)
    with pytest.raises(ValueError, match="longer than 10000 states"):
        erlang_a(1.0, 180, 1e5, 1)
    assert erlang_a(1.0, 180, 1e3, 1).prob_abandon > 0.99


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_b(-1, 3), "traffic_erlangs must be >= 0"),
        (lambda: erlang_b(1, -3), "servers must be >= 0"),
        (lambda: erlang_c(math.nan, 3), "traffic_erlangs must be a finite number"),
        (lambda: erlang_c(math.inf, 3), "traffic_erlangs must be a finite number"),
        (lambda: service_level(10, 12, 0, 20), "aht_seconds must be > 0"),
        (lambda: service_level(10, 12, 180, -1), "threshold_seconds must be >= 0"),
        (lambda: average_speed_of_answer(10, 12, -180), "aht_seconds must be > 0"),
        (lambda: occupancy(10, 0), "agents must be >= 1"),
        (lambda: traffic_erlangs(-1, 180, 1800), "arrivals_per_interval must be >= 0"),
        (lambda: traffic_erlangs(100, 180, 0), "interval_seconds must be > 0"),
        (lambda: agents_for_service_level(10, 180, 1.0, 20), "target_sl must be strictly between"),
        (lambda: agents_for_service_level(10, 180, 0.0, 20), "target_sl must be strictly between"),
        (lambda: agents_for_service_level(10, 180, 0.8, 20, 0.0), "max_occupancy must be in"),
        (lambda: agents_for_service_level(10, 180, 0.8, 20, 1.5), "max_occupancy must be in"),
        (lambda: agents_for_service_level(-10, 180, 0.8, 20), "traffic_erlangs must be >= 0"),
        (lambda: erlang_a(-1, 180, 60, 3), "arrival_rate_per_s must be >= 0"),
        (lambda: erlang_a(1, 180, 0, 3), "patience_seconds must be > 0"),
        (lambda: erlang_a(1, 180, math.inf, 3), "patience_seconds must be a finite number"),
        (lambda: erlang_a(1, 180, 60, 0), "agents must be >= 1"),
        (lambda: erlang_a(1, 180, 60, 3).service_level(-5), "threshold_seconds must be >= 0"),
    ],
)
def test_invalid_inputs_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_agent_counts_must_be_integers() -> None:
    with pytest.raises(TypeError, match="agents must be an integer"):
        erlang_c(10, 12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="servers must be an integer"):
        erlang_b(10, True)
