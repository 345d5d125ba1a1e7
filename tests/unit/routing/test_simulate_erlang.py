"""The simulator (driving the real engine) against Erlang C on the model's own assumptions.

Single skill, Poisson arrivals, exponential handle times, nobody abandons, auto-accept, no
wrap-up: the M/M/c queue, for which Erlang C gives P(wait), service level and ASA exactly.

Sizing, so that a pass is not luck: the run-to-run spread of each estimate was measured over
many seeds (the simulator is deterministic per seed) before fixing the sizes below. Per run of
10,000 items the standard deviations were, for one agent at 40 % load: P(wait) and service level
0.55 points, ASA 3.6 %; for three agents at 50 % load: 0.75 points and 8.5 %. Averaging four seeds
of N items divides them by sqrt(4 N / 10,000). So:

* one agent, 4 x 40,000 items: sd 0.15 points and 0.9 % -> the +-2 points / +-5 % tolerances are
  over 10 and about 5 standard deviations (six other seed sets stayed within 2.5 %);
* three agents, 4 x 15,000 items: sd 0.3 points -> +-2 points is 6.5 sd; ASA's sd is 3.5 %, so
  +-5 % would be only 1.4 sd: that check uses +-15 % (4.3 sd) here, and the strict +-5 % is checked
  at full size (100,000 items per seed, 10 agents at 80 %) by ``bench/routing_decisions.py``.
"""

from __future__ import annotations

import statistics

import pytest

from omniroute.routing.simulate import parse_scenario, simulate
from omniroute.workforce.erlang import average_speed_of_answer, erlang_c, service_level

AHT = 180.0
THRESHOLD = 20.0
SEEDS = (11, 12, 13, 14)


def _mm_c(agents: int, traffic: float, items: int) -> dict[str, object]:
    rate = traffic / AHT
    duration = items / rate
    return {
        "name": f"M/M/{agents} at {traffic / agents:.0%}",
        "duration": duration,
        "warmup": duration * 0.02,
        "queues": [{"id": "q", "method": "longest_idle", "auto_accept": True, "service_level": THRESHOLD}],
        "agents": [
            {
                "name": "agent",
                "count": agents,
                "queues": ["q"],
                "capacity": {"total_units": 1},
                "wrap_up": {"blocking": "never"},
            }
        ],
        "streams": [
            {
                "name": "calls",
                "queue": "q",
                "channel": "voice",
                "arrivals": {"poisson": {"per_second": rate}},
                "handle_time": {"exponential": AHT},
            }
        ],
    }


def _averaged(agents: int, traffic: float, items: int) -> tuple[float, float, float]:
    scenario = parse_scenario(_mm_c(agents, traffic, items))
    runs = [simulate(scenario, seed=seed).queue("q") for seed in SEEDS]
    for run in runs:
        assert run.abandoned == 0
        assert run.unanswered == 0
        assert run.answered > items * 0.9
    p_wait = statistics.mean(r.p_wait or 0.0 for r in runs)
    sl = statistics.mean(r.service_level or 0.0 for r in runs)
    asa = statistics.mean(r.asa_seconds or 0.0 for r in runs)
    return p_wait, sl, asa


def test_one_agent_matches_erlang_c() -> None:
    p_wait, sl, asa = _averaged(agents=1, traffic=0.4, items=40_000)
    assert p_wait == pytest.approx(erlang_c(0.4, 1), abs=0.02)
    assert sl == pytest.approx(service_level(0.4, 1, AHT, THRESHOLD), abs=0.02)
    assert asa == pytest.approx(average_speed_of_answer(0.4, 1, AHT), rel=0.05)


def test_three_agents_match_erlang_c() -> None:
    p_wait, sl, asa = _averaged(agents=3, traffic=1.5, items=15_000)
    assert p_wait == pytest.approx(erlang_c(1.5, 3), abs=0.02)
    assert sl == pytest.approx(service_level(1.5, 3, AHT, THRESHOLD), abs=0.02)
    assert asa == pytest.approx(average_speed_of_answer(1.5, 3, AHT), rel=0.15)
