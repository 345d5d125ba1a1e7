"""Workforce management: the queueing maths behind staffing, forecasting and simulator validation.

Pure: no I/O, no clock reads, standard library only.
"""

from __future__ import annotations

from omniroute.workforce.erlang import (
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

__all__ = [
    "ErlangAResult",
    "agents_for_service_level",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "service_level",
    "traffic_erlangs",
]
