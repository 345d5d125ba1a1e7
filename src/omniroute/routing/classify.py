"""Classification and route-to-queue: from a work item's attributes to requirements and a queue.

Rulesets run in order; inside a ruleset the first matching rule wins. Route-to-queue rules run in
order too; the first match whose queue is not overflowing wins, with an optional percentage split.
Every step is written to the trace, so supervisors can see why work went where it went. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from omniroute.routing.config import RouteToQueueRule, RoutingConfig
from omniroute.routing.rules import evaluate


@dataclass
class Classified:
    queue: str | None
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    capacity_units: int | None = None
    trace: list[str] = field(default_factory=list)


def classify(
    config: RoutingConfig,
    item_id: str,
    attributes: Mapping[str, Any],
    *,
    requested_queue: str | None = None,
    is_overflowing: Callable[[str], bool] = lambda _queue: False,
) -> Classified:
    result = Classified(queue=None, attributes=dict(attributes))
    for ruleset in config.classification:
        for rule in ruleset.rules:
            try:
                matched = evaluate(rule.when, result.attributes)
            except Exception as exc:
                result.trace.append(f"ruleset {ruleset.name!r}: rule {rule.name!r} failed ({exc})")
                continue
            if not matched:
                continue
            result.skills.update(rule.set.skills)
            if rule.set.priority is not None:
                result.priority = rule.set.priority
            if rule.set.capacity_units is not None:
                result.capacity_units = rule.set.capacity_units
            result.attributes.update(rule.set.attributes)
            result.trace.append(f"ruleset {ruleset.name!r}: rule {rule.name!r} matched")
            break
        else:
            result.trace.append(f"ruleset {ruleset.name!r}: no rule matched")
    result.queue = _route(config, item_id, result, requested_queue, is_overflowing)
    return result


def _route(
    config: RoutingConfig,
    item_id: str,
    result: Classified,
    requested_queue: str | None,
    is_overflowing: Callable[[str], bool],
) -> str | None:
    for rule in config.route_to_queue:
        try:
            matched = evaluate(rule.when, result.attributes)
        except Exception as exc:
            result.trace.append(f"route rule {rule.name!r} failed ({exc}); using fallback")
            break
        if not matched:
            continue
        target = _target(rule, item_id)
        if is_overflowing(target):
            result.trace.append(f"route rule {rule.name!r} matched but {target!r} is overflowing")
            continue
        result.trace.append(f"route rule {rule.name!r} sent it to {target!r}")
        return target
    if requested_queue:
        result.trace.append(f"no route rule decided; the channel asked for {requested_queue!r}")
        return requested_queue
    if config.fallback_queue:
        result.trace.append(f"fallback queue {config.fallback_queue!r}")
        return config.fallback_queue
    result.trace.append("no queue chosen by rules; the default queue applies")
    return None


def _target(rule: RouteToQueueRule, item_id: str) -> str:
    if rule.queue is not None:
        return rule.queue
    # A stable share: the same item always lands on the same side of the split.
    bucket = int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:4], "big") % 100
    total = 0
    for share in rule.split:
        total += share.percent
        if bucket < total:
            return share.queue
    return rule.split[-1].queue
