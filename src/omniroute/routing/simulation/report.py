"""What a simulation measured, per queue and overall, as a table or as JSON.

Definitions (items that arrived inside the measured window, after ``warmup``):

* service level: answered within the queue's threshold / (answered + abandoned); an abandoned
  item counts as a miss however early it hung up;
* ASA: mean wait of answered items (those answered at once count with zero);
* P(wait): share of answered or abandoned items that did not get an agent the instant they
  arrived;
* abandonment: abandoned / (answered + abandoned);
* occupancy: time agents held the queue's items (handle plus wrap-up) / scheduled time of the
  queue's members; an agent in two queues counts fully in both, and with concurrent work it can
  pass 100 %.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from omniroute.routing.simulation.scenario import Scenario


@dataclass
class QueueTally:
    queue_id: str
    threshold: float
    arrived: int = 0
    answered: int = 0
    abandoned: int = 0
    waited: int = 0
    within: int = 0
    wait_total: float = 0.0
    wait_max: float = 0.0
    busy_seconds: float = 0.0

    def arrive(self, counted: bool) -> None:
        if counted:
            self.arrived += 1

    def answer(self, wait: float, counted: bool) -> None:
        if not counted:
            return
        self.answered += 1
        self.wait_total += wait
        self.wait_max = max(self.wait_max, wait)
        if wait > 0:
            self.waited += 1
        if wait <= self.threshold:
            self.within += 1

    def abandon(self, wait: float, counted: bool) -> None:
        if counted:
            self.abandoned += 1
            self.waited += 1
            self.wait_max = max(self.wait_max, wait)

    def busy(self, start: float, end: float, window_start: float, window_end: float) -> None:
        self.busy_seconds += max(0.0, min(end, window_end) - max(start, window_start))


@dataclass(frozen=True)
class QueueReport:
    queue_id: str
    arrived: int
    answered: int
    abandoned: int
    unanswered: int  # still waiting when the simulation stopped
    service_level: float | None
    service_level_seconds: float
    asa_seconds: float | None
    p_wait: float | None
    abandon_rate: float | None
    max_wait_seconds: float
    occupancy: float | None


@dataclass(frozen=True)
class Report:
    scenario: str
    seed: int
    duration_seconds: float
    warmup_seconds: float
    queues: list[QueueReport]
    overall: QueueReport
    decisions: int
    events: int
    wall_seconds: float = field(compare=False)

    def queue(self, queue_id: str) -> QueueReport:
        return next(q for q in self.queues if q.queue_id == queue_id)

    def to_json(self) -> str:
        return json.dumps(_clean(asdict(self)), sort_keys=False)

    def table(self) -> str:
        head = (
            f"{self.scenario} (seed {self.seed}): {self.duration_seconds / 3600:g} h simulated, "
            f"first {self.warmup_seconds / 60:g} min not measured; "
            f"{self.decisions} decisions in {self.wall_seconds:.2f} s"
        )
        columns = [
            "queue",
            "arrived",
            "answered",
            "abandoned",
            "left",
            "SL",
            "ASA",
            "P(wait)",
            "aband.",
            "max wait",
            "occ.",
        ]
        rows = [_row(q) for q in [*self.queues, self.overall]]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        lines = [
            head,
            "",
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(columns, widths, strict=True))
            ),
        ]
        for n, row in enumerate(rows):
            if n == len(rows) - 1:
                lines.append("-" * len(lines[-1]))
            lines.append(
                "  ".join(
                    v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
                )
            )
        return "\n".join(lines)


def build_report(
    scenario: Scenario,
    seed: int,
    tallies: dict[str, QueueTally],
    staffed: dict[str, float],
    *,
    decisions: int,
    events: int,
    wall_seconds: float,
) -> Report:
    queues = [_queue_report(t, staffed.get(t.queue_id, 0.0)) for t in tallies.values()]
    total = QueueTally("all", 0.0)
    for t in tallies.values():
        for name in ("arrived", "answered", "abandoned", "waited", "within", "wait_total", "busy_seconds"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.wait_max = max(total.wait_max, t.wait_max)
    agent_seconds = sum(
        sum(max(0.0, min(s.end, scenario.duration) - max(s.start, scenario.warmup)) for s in g.shifts)
        * g.count
        for g in scenario.agents
    )
    overall = _queue_report(total, agent_seconds)
    overall = QueueReport(
        **{
            **asdict(overall),
            "service_level_seconds": math.nan,
            "service_level": _ratio(total.within, total.answered + total.abandoned)
            if len({t.threshold for t in tallies.values()}) == 1
            else None,
        }
    )
    return Report(
        scenario.name,
        seed,
        scenario.duration,
        scenario.warmup,
        queues,
        overall,
        decisions,
        events,
        wall_seconds,
    )


def _queue_report(t: QueueTally, staffed_seconds: float) -> QueueReport:
    finished = t.answered + t.abandoned
    return QueueReport(
        queue_id=t.queue_id,
        arrived=t.arrived,
        answered=t.answered,
        abandoned=t.abandoned,
        unanswered=t.arrived - finished,
        service_level=_ratio(t.within, finished),
        service_level_seconds=t.threshold,
        asa_seconds=t.wait_total / t.answered if t.answered else None,
        p_wait=_ratio(t.waited, finished),
        abandon_rate=_ratio(t.abandoned, finished),
        max_wait_seconds=t.wait_max,
        occupancy=t.busy_seconds / staffed_seconds if staffed_seconds > 0 else None,
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _row(q: QueueReport) -> list[str]:
    sl = _pct(q.service_level)
    if q.service_level is not None and not math.isnan(q.service_level_seconds):
        sl += f"@{q.service_level_seconds:g}s"
    return [
        q.queue_id,
        str(q.arrived),
        str(q.answered),
        str(q.abandoned),
        str(q.unanswered),
        sl,
        _secs(q.asa_seconds),
        _pct(q.p_wait),
        _pct(q.abandon_rate),
        _secs(q.max_wait_seconds),
        _pct(q.occupancy),
    ]


def _clean(value: Any) -> Any:
    """JSON has no NaN: undefined figures become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
