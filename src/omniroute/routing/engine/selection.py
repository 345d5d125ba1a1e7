"""The two questions routing answers, and what both implementations share.

* ``best_agent(item)``: work arrived (or came back): which agent gets it?
* ``best_item(agent)``: an agent can take more: which waiting item?

``IndexedSelector`` (``indexed.py``) answers from incremental indexes; ``ScanSelector``
(``reference.py``) answers by looking at everything. The engine calls a selector's ``changed_*``
hooks after every state change, so the indexes follow the state without the engine knowing how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from omniroute.routing.engine.decisions import Why
from omniroute.routing.engine.model import EngineSettings, Presence, QueueConfig
from omniroute.routing.engine.state import AgentState, ItemState, why_not


@dataclass
class World:
    """Everything the engine knows; selectors read it, only the engine writes it."""

    settings: EngineSettings
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
    items: dict[str, ItemState] = field(default_factory=dict)
    presences: dict[str, Presence] = field(default_factory=dict)  # custom name -> base
    members: dict[str, set[str]] = field(default_factory=dict)  # queue -> agent ids


@dataclass(slots=True)
class Pick:
    agent_id: str | None
    why: str
    rejected: list[tuple[str, str]] = field(default_factory=list)
    looked_at: int = 0


class Selector(Protocol):
    def best_agent(self, item: ItemState) -> Pick: ...

    def ranked_agents(self, item: ItemState, limit: int) -> list[str]:
        """Eligible agents in rank order (for the external chooser), at most ``limit``."""
        ...

    def best_item(self, agent: AgentState) -> ItemState | None: ...

    def changed_agent(self, agent: AgentState, queues: frozenset[str] | None = None) -> None:
        """Capacity, presence or order keys changed (for ``queues`` only, when given)."""
        ...

    def changed_membership(
        self, agent: AgentState, old_queues: frozenset[str], old_skills: dict[str, int]
    ) -> None:
        """Skills or queue membership changed (``old_*`` are the values before)."""
        ...

    def removed_agent(self, agent: AgentState) -> None: ...

    def changed_item(self, item: ItemState) -> None:
        """The item became matchable, stopped being so, or changed its requirements."""
        ...

    def changed_queue(self, queue: QueueConfig) -> None: ...

    def changed_presences(self) -> None: ...


def directed_or_preferred(
    world: World, item: ItemState, queue: QueueConfig
) -> tuple[Pick | None, list[tuple[str, str]]]:
    """The steps before the assignment method: a directed transfer, then affinity/preferred.

    Returns ``(pick, passed_over)``. ``pick`` is set when these steps decide (for a directed item
    whose agent cannot take it now, a pick with no agent: it waits for that agent); otherwise
    the queue's method decides and ``passed_over`` lists the preferred agents that could not take
    it, for the trace. A preferred agent must still be eligible by every rule, and loses the
    preference once they decline the item.
    """
    if item.directed_to is not None:
        agent = world.agents.get(item.directed_to)
        if agent is None:
            return Pick(None, f"directed to unknown agent {item.directed_to}"), []
        why = why_not(agent, item, queue)
        if why is None:
            return Pick(agent.agent_id, "transferred to this agent", looked_at=1), []
        return Pick(None, f"waiting for {agent.agent_id}", [(agent.agent_id, why.value)], 1), []
    passed_over: list[tuple[str, str]] = []
    for agent_id in item.preferred:
        agent = world.agents.get(agent_id)
        if agent is None:
            passed_over.append((agent_id, "unknown agent"))
            continue
        why = why_not(agent, item, queue)
        if why is None and item.declines.get(agent_id, 0):
            why = Why.RANKED_LOWER
        if why is None:
            label = "same agent as before" if agent_id == item.affinity else "preferred agent"
            return Pick(agent_id, label, passed_over, len(passed_over) + 1), []
        passed_over.append((agent_id, why.value))
    return None, passed_over


def method_label(queue: QueueConfig, declines: int) -> str:
    label = queue.method.value.replace("_", " ")
    if queue.skill_match.value == "closest":
        label = "closest skills, then " + label
    if declines:
        label += f" (had declined it {declines}x; nobody else could take it)"
    return label
