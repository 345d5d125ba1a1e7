"""``omniroute simulate SCENARIO.yaml``: a what-if run of the routing engine in virtual time.

The same ``RoutingEngine`` the service runs routes simulated arrivals to simulated agents; the
report gives service level, ASA, abandonment and occupancy per queue. See ``docs/ROUTING.md``.
"""

from __future__ import annotations

from pathlib import Path

from omniroute.routing.simulation.report import QueueReport, Report
from omniroute.routing.simulation.scenario import Scenario, load_scenario, parse_scenario
from omniroute.routing.simulation.simulator import Simulation, simulate
from omniroute.routing.simulation.units import ScenarioError

__all__ = [
    "QueueReport",
    "Report",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "load_scenario",
    "parse_scenario",
    "run_file",
    "simulate",
]


def run_file(path: str | Path, seed: int | None = None) -> Report:
    """Load a scenario file and simulate it (``seed`` overrides the file's)."""
    return simulate(load_scenario(path), seed)
