"""Random durations for the simulator: handle times, patience, response and wrap-up times.

Written in a scenario as a one-key mapping: ``{exponential: 180s}``, ``{fixed: 30}``,
``{uniform: [10s, 50s]}``, ``{lognormal: {mean: 240s, sd: 120s}}``, ``{gamma: {mean: 200s,
shape: 2}}``. Sampling uses the simulation's seeded ``random.Random``, so a run is reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from omniroute.routing.simulation.units import ScenarioError, duration


@dataclass(frozen=True)
class Distribution:
    kind: str  # fixed, exponential, uniform, lognormal, gamma
    a: float  # fixed: value; exponential: mean; uniform: low; lognormal/gamma: mean
    b: float = 0.0  # uniform: high; lognormal: sd; gamma: shape

    @property
    def mean(self) -> float:
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a

    def sample(self, rng: random.Random) -> float:
        kind = self.kind
        if kind == "exponential":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        if kind == "fixed":
            return self.a
        if kind == "uniform":
            return rng.uniform(self.a, self.b)
        if kind == "lognormal":
            # Parameters of the underlying normal from the wanted mean and sd.
            sigma2 = math.log(1.0 + (self.b / self.a) ** 2)
            return rng.lognormvariate(math.log(self.a) - sigma2 / 2, math.sqrt(sigma2))
        return rng.gammavariate(self.b, self.a / self.b)


def parse_distribution(raw: object, where: str) -> Distribution:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(
            f"{where}: expected one of {{exponential: 180s}}, {{fixed: 30}}, {{uniform: [a, b]}}, "
            "{lognormal: {mean, sd}}, {gamma: {mean, shape}}"
        )
    kind, spec = next(iter(raw.items()))
    if kind in ("exponential", "fixed"):
        return Distribution(str(kind), duration(spec, f"{where}.{kind}"))
    if kind == "uniform":
        if not isinstance(spec, list) or len(spec) != 2:
            raise ScenarioError(f"{where}.uniform: expected [low, high]")
        low, high = (duration(v, f"{where}.uniform") for v in spec)
        if high < low:
            raise ScenarioError(f"{where}.uniform: high must not be below low")
        return Distribution("uniform", low, high)
    if kind in ("lognormal", "gamma"):
        if not isinstance(spec, dict):
            raise ScenarioError(f"{where}.{kind}: expected a mapping")
        mean = duration(spec.get("mean"), f"{where}.{kind}.mean")
        if mean <= 0:
            raise ScenarioError(f"{where}.{kind}.mean: must be positive")
        if kind == "lognormal":
            return Distribution("lognormal", mean, duration(spec.get("sd"), f"{where}.lognormal.sd"))
        shape = spec.get("shape")
        if not isinstance(shape, int | float) or isinstance(shape, bool) or shape <= 0:
            raise ScenarioError(f"{where}.gamma.shape: expected a positive number")
        return Distribution("gamma", mean, float(shape))
    raise ScenarioError(
        f"{where}: unknown distribution {kind!r} (exponential, fixed, uniform, lognormal, gamma)"
    )
