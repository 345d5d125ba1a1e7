"""The indexed selector: answers from incremental indexes instead of scans.

Agent side, per queue (``pool.AgentPool``): the members with an allowed presence and room, kept
in the method's order and bucketed by the unit needs they can cover, so an arriving item walks
them from the best and usually takes the first (agents without room for it are never walked).
Items that need skills walk the index of their rarest skill (a queue indexes a skill once an item
asks for it). Most skilled keeps one index per required skill set, ordered by the total
proficiency in it. ``rules``, ``closest`` and ``external`` rank every candidate of the smallest
index (still only agents with room, never every agent).

Work side, per queue (``waiting.WaitingLine``): matchable items grouped by what decides
eligibility, each group a heap in work order. An agent who can take more looks at the items
naming it first, then walks the groups it qualifies for, skipping items it declined before; only
when there is none does it look at the (few) waiting items it did decline.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import combinations
from math import comb

from omniroute.routing.engine.heap import Entry
from omniroute.routing.engine.model import (
    DEFAULT_ALLOWED_PRESENCES,
    AssignmentMethod,
    QueueConfig,
    SkillMatch,
)
from omniroute.routing.engine.pool import AgentPool, Index, in_key_order
from omniroute.routing.engine.selection import Pick, World, directed_or_preferred, method_label
from omniroute.routing.engine.state import (
    AgentState,
    ItemState,
    ItemStatus,
    Key,
    can_take,
    fits,
    preferred_for,
    presence_ok,
    rank,
    skills_ok,
    why_not,
)
from omniroute.routing.engine.waiting import Group, WaitingLine

#: Groups walked in head order before looking groups up by the agent's own skills instead.
GROUP_WALK = 32

NO_SKILLED_ROOM = "nobody with room has the required skills"


class IndexedSelector:
    def __init__(self, world: World) -> None:
        self.world = world
        self.pools: dict[str, AgentPool] = {}
        self.lines: dict[str, WaitingLine] = {}
        self.preferring: dict[str, set[str]] = {}  # agent -> items naming it first
        self.named: dict[str, tuple[str, ...]] = {}  # item -> agents it is registered under
        self.declined: dict[str, set[str]] = {}  # agent -> waiting items it declined
        self.decliners: dict[str, tuple[str, ...]] = {}  # item -> agents it is registered under
        # Highest idle sequence placed in any pool: a higher one can be appended to its buckets.
        self.high = 0
        for queue in world.queues.values():
            self.changed_queue(queue)

    # -- item side ---------------------------------------------------------------------------

    def best_agent(self, item: ItemState) -> Pick:
        queue = self.world.queues[item.queue_id]
        passed_over: list[tuple[str, str]] = []
        if item.directed_to is not None or item.preferred:
            decided, passed_over = directed_or_preferred(self.world, item, queue)
            if decided is not None:
                return decided
        pool = self.pools[item.queue_id]
        if not item.allowed <= pool.presences:
            pool = self._fill(pool.queue, pool.presences | item.allowed)
        if not pool.room:  # every member is busy or away: the common case under load
            return Pick(None, NO_SKILLED_ROOM, passed_over)
        pool.walks += 1
        units = pool.units_needed(item)
        method = queue.method
        if queue.skill_match is SkillMatch.CLOSEST:
            pick = self._scan(item, queue, pool.all, units)
        elif method is AssignmentMethod.MOST_SKILLED:
            index = pool.index_for(tuple(s for s, _ in item.reqs))
            if index is None:
                pick = self._scan(item, queue, self._smallest(pool, item), units)
            else:
                pick = self._walk(item, queue, pool, index, units, sum(m for _, m in item.reqs))
        elif method is AssignmentMethod.RULES:
            pick = self._scan(item, queue, self._smallest(pool, item), units)
        else:  # the order does not depend on the item: walk from the best agent down
            pick = self._walk(item, queue, pool, self._smallest(pool, item), units, 0)
        if passed_over:
            pick.rejected[:0] = passed_over
        return pick

    def ranked_agents(self, item: ItemState, limit: int) -> list[str]:
        queue = self.world.queues[item.queue_id]
        pool = self._covering(item)
        index = pool.all if queue.skill_match is SkillMatch.CLOSEST else self._smallest(pool, item)
        agents = self.world.agents
        ranked = []
        for agent_id in index.candidates(pool.units_needed(item)):
            agent = agents[agent_id]
            if why_not(agent, item, queue) is None:
                ranked.append((rank(agent, item, queue), agent_id))
        ranked.sort()
        return [agent_id for _, agent_id in ranked[:limit]]

    def _covering(self, item: ItemState) -> AgentPool:
        """The item's agent pool, widened first if the item allows presences it does not hold."""
        pool = self.pools[item.queue_id]
        if not item.allowed <= pool.presences:
            pool = self._fill(pool.queue, pool.presences | item.allowed)
        return pool

    @staticmethod
    def _smallest(pool: AgentPool, item: ItemState) -> Index:
        """The smallest index holding every possible candidate: that of the rarest skill."""
        best = pool.all
        size = best.size
        indexes = pool.indexes
        for skill, _ in item.reqs:
            index = indexes.get((skill,)) or pool.index_for((skill,))
            if index is not None and index.size < size:
                best, size = index, index.size
        best.used = pool.walks
        return best

    def _walk(
        self, item: ItemState, queue: QueueConfig, pool: AgentPool, index: Index, units: int, need: int
    ) -> Pick:
        """Candidates in the method's order until one passes every rule.

        The first eligible agent who never declined the item wins; if every eligible agent has
        declined it, the one with the fewest declines (then the method's order) does. ``need``
        (most skilled) stops the walk at ranks whose total proficiency is below the sum of the
        item's minimums: nobody there can qualify.
        """
        agents = self.world.agents
        declines = item.declines
        rejected: list[tuple[str, str]] = []
        looked = 0
        index.used = pool.walks
        for buckets in index.ordered(units, need):
            for agent_id in in_key_order(buckets):
                looked += 1
                if can_take(agents[agent_id], item, queue):
                    if not declines or not declines.get(agent_id):
                        return Pick(agent_id, pool.label, rejected, looked)
                else:
                    self._passed_over(rejected, agents[agent_id], item, queue)
        if declines:
            fallback = self._best_decliner(item, queue)
            if fallback is not None:
                return Pick(fallback[1], method_label(queue, int(fallback[0][0])), rejected, looked)
        why = "no eligible agent" if looked or index.size else NO_SKILLED_ROOM
        return Pick(None, why, rejected, looked)

    def _passed_over(
        self, rejected: list[tuple[str, str]], agent: AgentState, item: ItemState, queue: QueueConfig
    ) -> None:
        """Name the first few agents passed over in the trace, with why."""
        if len(rejected) < self.world.settings.trace_candidates:
            why = why_not(agent, item, queue)
            assert why is not None
            rejected.append((agent.agent_id, why.value))

    def _best_decliner(self, item: ItemState, queue: QueueConfig) -> tuple[Key, str] | None:
        """Among agents who declined the item and may take it, the best ranked (fewest first)."""
        agents = self.world.agents
        best: tuple[Key, str] | None = None
        for agent_id in item.declines:
            agent = agents.get(agent_id)
            if agent is None or why_not(agent, item, queue) is not None:
                continue
            key = rank(agent, item, queue)
            if best is None or key < best[0]:
                best = (key, agent_id)
        return best

    def _scan(self, item: ItemState, queue: QueueConfig, index: Index, units: int) -> Pick:
        """Rank every candidate of the index (methods whose order depends on the item)."""
        limit = self.world.settings.trace_candidates
        rejected: list[tuple[str, str]] = []
        agents = self.world.agents
        best: tuple[Key, str] | None = None
        looked = 0
        for agent_id in index.candidates(units):
            looked += 1
            agent = agents[agent_id]
            why = why_not(agent, item, queue)
            if why is not None:
                if len(rejected) < limit:
                    rejected.append((agent_id, why.value))
                continue
            key = rank(agent, item, queue)
            if best is None or key < best[0]:
                best = (key, agent_id)
        if best is None:
            return Pick(
                None, "no eligible agent" if looked or index.size else NO_SKILLED_ROOM, rejected, looked
            )
        return Pick(best[1], method_label(queue, int(best[0][0])), rejected, looked)

    # -- work side ---------------------------------------------------------------------------

    def best_item(self, agent: AgentState) -> ItemState | None:
        """Items naming the agent, then items it never declined, then items it declined.

        Within each class: queue priority, item priority, then age.
        """
        world = self.world
        items, queues = world.items, world.queues
        agent_id = agent.agent_id
        best: ItemState | None = None
        best_key: Key | None = None
        for item_id in self.preferring.get(agent_id, ()):
            item = items[item_id]
            if not preferred_for(item, agent_id):
                continue
            queue = queues[item.queue_id]
            if why_not(agent, item, queue) is None:
                key = item.order_key(queue.priority)
                if best_key is None or key < best_key:
                    best, best_key = item, key
        if best is not None:
            return best
        for queue_id in agent.queues:
            line = self.lines.get(queue_id)
            if line is not None and line.groups:
                found = self._best_in_line(agent, line, queues[queue_id], best_key)
                if found is not None:
                    best_key = found
                    best = items[str(found[-1])]
        if best is not None:
            return best
        for item_id in self.declined.get(agent_id, ()):
            item = items[item_id]
            queue = queues[item.queue_id]
            if why_not(agent, item, queue) is None:
                key = item.order_key(queue.priority)
                if best_key is None or key < best_key:
                    best, best_key = item, key
        return best

    def _best_in_line(
        self, agent: AgentState, line: WaitingLine, queue: QueueConfig, best_key: Key | None
    ) -> Key | None:
        """The work-order key (ending in the item id) of the best item here, if it beats best_key.

        Walks the groups in the order of their best item and stops as soon as the next group's
        best cannot beat what was found. After ``GROUP_WALK`` groups the agent does not qualify
        for, it switches to the groups its own skills cover, which bounds the work.
        """
        prefix = (-queue.priority,)
        found: Key | None = None
        by_gid = line.by_gid
        finished = True
        profile = agent.profile
        total, costs = profile.total_units, profile.channel_units
        free = total - agent.used_units if total is not None else 0
        for walked, entry in enumerate(line.order):
            if best_key is not None and (*prefix, *entry[:-2]) >= best_key:
                break
            if walked == GROUP_WALK:
                finished = False
                break
            group = by_gid[entry[-1]]
            if total is not None:  # the capacity part of ``fits``, before any call
                units = group.cost if group.cost is not None else costs.get(group.channel, 1)
                if units > free:
                    continue
            key = self._head_key(agent, group, queue, prefix)
            if key is not None and (best_key is None or key < best_key):
                best_key = found = key
        if finished:
            return found
        for group in self._groups_for(agent, line, queue):
            heap, current = group.heap.heap, group.heap.current
            while heap and current.get(heap[0][-1]) is not heap[0]:
                heappop(heap)
            if not heap or (best_key is not None and (*prefix, *heap[0][:-1]) >= best_key):
                continue  # its best item cannot beat what was found already: skip the checks
            key = self._head_key(agent, group, queue, prefix)
            if key is not None and (best_key is None or key < best_key):
                best_key = found = key
        return found

    def _head_key(self, agent: AgentState, group: Group, queue: QueueConfig, prefix: Key) -> Key | None:
        """Work-order key of the group's first item this agent may take and never declined."""
        if not (presence_ok(agent, group.allowed) and fits(agent, group.channel, group.cost)):
            return None
        if queue.skill_match is SkillMatch.EXACT and not skills_ok(agent, group.reqs):
            return None
        entry = self._head_for(group, agent.agent_id)
        if entry is None:
            return None
        return (*prefix, *entry[:-1], entry[-1])

    def _groups_for(self, agent: AgentState, line: WaitingLine, queue: QueueConfig) -> list[Group]:
        """The groups an agent might qualify for: all, or those whose skills it has (cheaper)."""
        groups = line.groups
        if queue.skill_match is SkillMatch.CLOSEST or not line.sizes:
            return list(groups.values())
        largest = max(line.sizes)
        owned = len(agent.skills)
        subsets = sum(comb(owned, k) for k in range(min(largest, owned) + 1))
        if subsets >= len(groups):
            return list(groups.values())
        found: list[Group] = []
        by_skillset = line.by_skillset
        # Subsets as sorted tuples, like ``Group.skillset``, made afresh: caching them per agent
        # (10,000 agents x up to 175 subsets) cost 100 MB and kept the garbage collector busy.
        skills = sorted(agent.skills)
        for size in line.sizes:
            if size > owned:
                continue
            for subset in combinations(skills, size):
                same = by_skillset.get(subset)
                if same:
                    found.extend(same)
        return found

    def _head_for(self, group: Group, agent_id: str) -> Entry | None:
        """The first item of the group that the agent has not declined (those come last)."""
        heap, current, items = group.heap.heap, group.heap.current, self.world.items
        skipped: list[Entry] = []
        found: Entry | None = None
        while heap:
            entry = heap[0]
            item_id = entry[-1]
            if current.get(item_id) is not entry:
                heappop(heap)
                continue
            if not items[item_id].declines.get(agent_id):
                found = entry
                break
            skipped.append(heappop(heap))
        for entry in skipped:
            heappush(heap, entry)
        return found

    # -- index maintenance -------------------------------------------------------------------

    def changed_agent(self, agent: AgentState, queues: frozenset[str] | None = None) -> None:
        seq = agent.idle_seq
        fresh = seq > self.high
        if fresh:
            self.high = seq
        pools = self.pools
        for queue_id in agent.queues if queues is None else queues:
            pool = pools.get(queue_id)
            if pool is not None:
                pool.refresh(agent, fresh)

    def changed_membership(
        self, agent: AgentState, old_queues: frozenset[str], old_skills: dict[str, int]
    ) -> None:
        for queue_id in old_queues:
            pool = self.pools.get(queue_id)
            if pool is not None:
                pool.forget(agent.agent_id)
        self.changed_agent(agent)

    def removed_agent(self, agent: AgentState) -> None:
        for queue_id in agent.queues:
            pool = self.pools.get(queue_id)
            if pool is not None:
                pool.forget(agent.agent_id)

    def changed_item(self, item: ItemState) -> None:
        waiting = item.status is ItemStatus.WAITING and (item.push or item.directed_to is not None)
        item_id = item.item_id
        if waiting or item.group is not None:
            self._regroup(item, waiting)
        if waiting or item_id in self.named:
            self._rename(item, waiting)
        if item.declines and (waiting or item_id in self.decliners):
            self._redecline(item, waiting)

    def _regroup(self, item: ItemState, waiting: bool) -> None:
        """Keep the item in the waiting-line group matching its current requirements, if any."""
        line = self.lines.get(item.queue_id)
        target = None
        if line is not None and waiting and item.directed_to is None:
            target = (item.queue_id, (item.reqs, item.channel, item.cost, item.allowed))
        if item.group == target:
            return
        if item.group is not None:
            self._ungroup(item)
        if target is not None and line is not None:
            entry = (-item.priority, item.enq_ts, item.seq, item.item_id)
            group = line.group(target[1])
            group.heap.put(item.item_id, entry)
            line.reorder(group)
            item.group = target

    def _rename(self, item: ItemState, waiting: bool) -> None:
        """Items that name agents first (directed, affinity, preferred) are found from them."""
        item_id = item.item_id
        names: tuple[str, ...] = ()
        if waiting:
            names = (item.directed_to,) if item.directed_to is not None else item.preferred
        _register(self.named, self.preferring, item_id, names)

    def _redecline(self, item: ItemState, waiting: bool) -> None:
        """Waiting items are found from the agents who declined them (for their last resort)."""
        names = tuple(item.declines) if waiting else ()
        _register(self.decliners, self.declined, item.item_id, names)

    def _ungroup(self, item: ItemState) -> None:
        queue_id, key = item.group  # type: ignore[misc]
        line = self.lines.get(queue_id)
        if line is not None:
            group = line.groups.get(key)
            if group is not None:
                group.heap.discard(item.item_id)
                line.reorder(group)
                line.drop_if_empty(key)
        item.group = None

    def changed_queue(self, queue: QueueConfig) -> None:
        old = self.pools.get(queue.queue_id)
        self._fill(queue, old.presences if old is not None else DEFAULT_ALLOWED_PRESENCES)
        if queue.queue_id not in self.lines:
            self.lines[queue.queue_id] = WaitingLine()

    def removed_queue(self, queue_id: str) -> None:
        self.pools.pop(queue_id, None)
        self.lines.pop(queue_id, None)

    def changed_presences(self) -> None:
        for pool in list(self.pools.values()):
            self._fill(pool.queue, pool.presences)

    def _fill(self, queue: QueueConfig, presences: frozenset[str]) -> AgentPool:
        """Build a queue's pool from scratch (members in key order, so buckets fill in order)."""
        agents = self.world.agents
        pool = self.pools[queue.queue_id] = AgentPool(queue, presences, agents)
        members = pool.members_in_key_order(self.world.members.get(queue.queue_id, ()))
        for agent in members:
            pool.refresh(agent, False)
            self.high = max(self.high, agent.idle_seq)
        return pool


def _register(
    by_item: dict[str, tuple[str, ...]], by_agent: dict[str, set[str]], item_id: str, names: tuple[str, ...]
) -> None:
    """Keep ``item_id`` filed under exactly the agents in ``names``."""
    old = by_item.get(item_id, ())
    if names == old:
        return
    for agent_id in old:
        filed = by_agent.get(agent_id)
        if filed is not None:
            filed.discard(item_id)
            if not filed:
                del by_agent[agent_id]
    for agent_id in names:
        by_agent.setdefault(agent_id, set()).add(item_id)
    if names:
        by_item[item_id] = names
    else:
        by_item.pop(item_id, None)
