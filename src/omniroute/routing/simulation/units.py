"""Durations as a scenario writes them, and the error every scenario problem raises."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ScenarioError(ValueError):
    """The scenario file is not valid; the message says where and why."""


def duration(value: object, where: str) -> float:
    """Seconds from a number (seconds) or text like ``90s``, ``5m``, ``1.5h``, ``4h30m``."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)  # math.inf is allowed: "until the end"
    elif isinstance(value, str) and _NUMBER.match(value):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and _PART.sub("", value).strip() == "":
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value))
    else:
        raise ScenarioError(f"{where}: expected a duration like 30, '30s', '5m' or '2h', got {value!r}")
    if seconds < 0:
        raise ScenarioError(f"{where}: must not be negative")
    return seconds
