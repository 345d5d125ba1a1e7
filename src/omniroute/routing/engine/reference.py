"""The reference selector: every answer by a brute-force scan over all agents or all items.

It reads the same state and calls the same rule functions as the indexed selector, without any
index, so it is slow and obviously right. Tests drive two engines, one per selector, through the
same commands and require identical decisions; the decision benchmark measures both in one run.
"""

from __future__ import annotations

from omniroute.routing.engine.decisions import Why
from omniroute.routing.engine.model import QueueConfig
from omniroute.routing.engine.selection import Pick, World, directed_or_preferred, method_label
from omniroute.routing.engine.state import (
    AgentState,
    ItemState,
    Key,
    matchable,
    preferred_for,
    rank,
    why_not,
)


class ScanSelector:
    def __init__(self, world: World) -> None:
        self.world = world

    def best_agent(self, item: ItemState) -> Pick:
        queue = self.world.queues[item.queue_id]
        decided, passed_over = directed_or_preferred(self.world, item, queue)
        if decided is not None:
            return decided
        ranked, rejected = self._eligible(item, queue)
        rejected = (passed_over + rejected)[: self.world.settings.trace_candidates]
        looked = len(self.world.agents)
        if not ranked:
            return Pick(None, "no eligible agent", rejected, looked)
        key, agent_id = ranked[0]
        return Pick(agent_id, method_label(queue, int(key[0])), rejected, looked)

    def ranked_agents(self, item: ItemState, limit: int) -> list[str]:
        queue = self.world.queues[item.queue_id]
        return [agent_id for _, agent_id in self._eligible(item, queue)[0][:limit]]

    def _eligible(
        self, item: ItemState, queue: QueueConfig
    ) -> tuple[list[tuple[Key, str]], list[tuple[str, str]]]:
        ranked: list[tuple[Key, str]] = []
        rejected: list[tuple[str, str]] = []
        for agent in self.world.agents.values():
            why = why_not(agent, item, queue)
            if why is None:
                ranked.append((rank(agent, item, queue), agent.agent_id))
            elif why is not Why.NOT_MEMBER:
                rejected.append((agent.agent_id, why.value))
        ranked.sort()
        return ranked, rejected

    def best_item(self, agent: AgentState) -> ItemState | None:
        """Items naming the agent, then items it never declined, then those it declined."""
        best: ItemState | None = None
        best_key: Key | None = None
        queues = self.world.queues
        for item in self.world.items.values():
            if not matchable(item):
                continue
            queue = queues[item.queue_id]
            if why_not(agent, item, queue) is not None:
                continue
            if preferred_for(item, agent.agent_id):
                group = 0
            else:  # work the agent has declined comes after everything it has not
                group = 2 if item.declines.get(agent.agent_id, 0) else 1
            key = (group, *item.order_key(queue.priority))
            if best_key is None or key < best_key:
                best, best_key = item, key
        return best

    # The scan keeps no index: nothing to maintain.
    def changed_agent(self, agent: AgentState, queues: frozenset[str] | None = None) -> None:
        pass

    def changed_membership(
        self, agent: AgentState, old_queues: frozenset[str], old_skills: dict[str, int]
    ) -> None:
        pass

    def removed_agent(self, agent: AgentState) -> None:
        pass

    def changed_item(self, item: ItemState) -> None:
        pass

    def changed_queue(self, queue: QueueConfig) -> None:
        pass

    def changed_presences(self) -> None:
        pass
