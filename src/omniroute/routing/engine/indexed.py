"""The indexed selector: answers from incremental indexes instead of scans.

Agent side, per queue (``AgentPool``): members who could take *something* now (allowed presence,
room left) in heaps ordered by the queue's method key: one heap for the whole queue and one per
skill. An item is matched by walking the heap of its rarest required skill from the top until an
agent passes every rule; with the usual methods the first or second agent does.

Work side, per queue (``WaitingLine``): matchable items grouped by what decides eligibility
(required skills, channel, cost, allowed presences), each group a heap in work order. An agent
who can take more looks only at the groups it qualifies for (found by its skill subsets when a
queue has many groups) and compares their heads.

Methods whose order depends on the item (most skilled with several skills, ``rules``, closest
match, external) scan the live members of the rarest heap instead of walking it: still only
agents with room and the rarest skill, never every agent.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import combinations
from math import comb

from omniroute.routing.engine.heap import Entry, LazyHeap
from omniroute.routing.engine.model import (
    DEFAULT_ALLOWED_PRESENCES,
    AssignmentMethod,
    QueueConfig,
    SkillMatch,
)
from omniroute.routing.engine.selection import Pick, World, directed_or_preferred, method_label
from omniroute.routing.engine.state import (
    AgentState,
    ItemState,
    Key,
    Requirements,
    fits,
    free_capacity,
    has_room,
    matchable,
    preferred_for,
    presence_ok,
    rank,
    skills_ok,
    why_not,
)

#: Heap entries walked in order before switching to one pass over the remaining members.
WALK_BUDGET = 24

ORDERED_METHODS = frozenset(
    {AssignmentMethod.LONGEST_IDLE, AssignmentMethod.HIGHEST_CAPACITY, AssignmentMethod.ROUND_ROBIN}
)

GroupKey = tuple[Requirements, str, int | None, frozenset[str]]


class AgentPool:
    """One queue's members with room, ordered by the queue's method key."""

    __slots__ = ("all", "by_skill", "presences", "queue")

    def __init__(self, queue: QueueConfig, presences: frozenset[str]) -> None:
        self.queue = queue
        self.presences = presences
        self.all = LazyHeap()
        self.by_skill: dict[str, LazyHeap] = {}

    def entry(self, agent: AgentState) -> Entry:
        """The static part of ``state.method_key`` (equal to it wherever the walk is used)."""
        method = self.queue.method
        if method is AssignmentMethod.HIGHEST_CAPACITY:
            return (-free_capacity(agent), agent.idle_seq, agent.agent_id)
        if method is AssignmentMethod.ROUND_ROBIN:
            return (agent.rr.get(self.queue.queue_id, 0), agent.idle_seq, agent.agent_id)
        if method is AssignmentMethod.MOST_SKILLED:
            return (0, agent.idle_seq, agent.agent_id)
        return (agent.idle_seq, agent.agent_id)

    def refresh(self, agent: AgentState) -> None:
        agent_id = agent.agent_id
        if not (presence_ok(agent, self.presences) and has_room(agent)):
            self.remove(agent, agent.skills)
            return
        entry = self.entry(agent)
        self.all.put(agent_id, entry)
        by_skill = self.by_skill
        most_skilled = self.queue.method is AssignmentMethod.MOST_SKILLED
        for skill, level in agent.skills.items():
            heap = by_skill.get(skill)
            if heap is None:
                heap = by_skill[skill] = LazyHeap()
            heap.put(agent_id, (-level, agent.idle_seq, agent_id) if most_skilled else entry)

    def remove(self, agent: AgentState, skills: dict[str, int]) -> None:
        agent_id = agent.agent_id
        self.all.discard(agent_id)
        for skill in skills:
            heap = self.by_skill.get(skill)
            if heap is not None:
                heap.discard(agent_id)


class Group:
    __slots__ = ("allowed", "channel", "cost", "heap", "reqs", "skillset")

    def __init__(self, key: GroupKey) -> None:
        self.reqs, self.channel, self.cost, self.allowed = key
        self.skillset = frozenset(s for s, _ in self.reqs)
        self.heap = LazyHeap()


class WaitingLine:
    """One queue's matchable items, grouped by what decides who may take them."""

    __slots__ = ("by_skillset", "groups", "sizes")

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        self.by_skillset: dict[frozenset[str], list[Group]] = {}
        self.sizes: dict[int, int] = {}  # number of required skills -> groups

    def group(self, key: GroupKey) -> Group:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key)
            self.by_skillset.setdefault(group.skillset, []).append(group)
            size = len(group.reqs)
            self.sizes[size] = self.sizes.get(size, 0) + 1
        return group

    def drop_if_empty(self, key: GroupKey) -> None:
        group = self.groups.get(key)
        if group is None or group.heap.current:
            return
        del self.groups[key]
        same = self.by_skillset[group.skillset]
        same.remove(group)
        if not same:
            del self.by_skillset[group.skillset]
        size = len(group.reqs)
        self.sizes[size] -= 1
        if not self.sizes[size]:
            del self.sizes[size]


class IndexedSelector:
    def __init__(self, world: World) -> None:
        self.world = world
        self.pools: dict[str, AgentPool] = {}
        self.lines: dict[str, WaitingLine] = {}
        self.preferring: dict[str, set[str]] = {}  # agent -> items naming it first
        self.named: dict[str, tuple[str, ...]] = {}  # item -> agents it is registered under
        for queue in world.queues.values():
            self.changed_queue(queue)

    # -- item side ---------------------------------------------------------------------------

    def best_agent(self, item: ItemState) -> Pick:
        queue = self.world.queues[item.queue_id]
        decided, passed_over = directed_or_preferred(self.world, item, queue)
        if decided is not None:
            return decided
        pool = self._covering(item)
        heap = self._candidates(pool, item)
        if heap is None:
            return Pick(None, "nobody with room has the required skills", passed_over)
        walk = self._walkable(queue, item)
        pick = self._walk(item, queue, heap) if walk else self._scan(item, queue, heap)
        pick.rejected[:0] = passed_over
        return pick

    def ranked_agents(self, item: ItemState, limit: int) -> list[str]:
        queue = self.world.queues[item.queue_id]
        heap = self._candidates(self._covering(item), item)
        if heap is None:
            return []
        return [agent_id for _, agent_id in self._eligible(item, queue, heap)[:limit]]

    def _covering(self, item: ItemState) -> AgentPool:
        """The item's agent pool, widened first if the item allows presences it does not hold."""
        pool = self.pools[item.queue_id]
        if not item.allowed <= pool.presences:
            pool.presences = pool.presences | item.allowed
            self._fill(pool)
        return pool

    def _candidates(self, pool: AgentPool, item: ItemState) -> LazyHeap | None:
        """The smallest heap that holds every possible candidate (None: nobody can)."""
        if pool.queue.skill_match is SkillMatch.CLOSEST or not item.reqs:
            return pool.all
        best: LazyHeap | None = None
        by_skill = pool.by_skill
        for skill, _ in item.reqs:
            heap = by_skill.get(skill)
            if heap is None or not heap.current:
                return None
            if best is None or len(heap.current) < len(best.current):
                best = heap
        return best

    @staticmethod
    def _walkable(queue: QueueConfig, item: ItemState) -> bool:
        if queue.skill_match is not SkillMatch.EXACT:
            return False
        if queue.method in ORDERED_METHODS:
            return True
        # Most skilled orders each skill's heap by that skill's level: exact for one skill.
        return queue.method is AssignmentMethod.MOST_SKILLED and len(item.reqs) <= 1

    def _walk(self, item: ItemState, queue: QueueConfig, lazy: LazyHeap) -> Pick:
        """Take entries from the top until an agent passes every rule and never declined it."""
        heap, current, agents = lazy.heap, lazy.current, self.world.agents
        declines = item.declines
        limit = self.world.settings.trace_candidates
        taken: list[Entry] = []
        rejected: list[tuple[str, str]] = []
        fallback: tuple[Key, str] | None = None
        winner: str | None = None
        while heap and len(taken) < WALK_BUDGET:
            entry = heap[0]
            agent_id = entry[-1]
            if current.get(agent_id) is not entry:
                heappop(heap)
                continue
            taken.append(heappop(heap))
            why = why_not(agents[agent_id], item, queue)
            if why is None:
                count = declines.get(agent_id, 0)
                if not count:
                    winner = agent_id
                    break
                key = (count, *entry[:-1])
                if fallback is None or key < fallback[0]:
                    fallback = (key, agent_id)
            elif len(rejected) < limit:
                rejected.append((agent_id, why.value))
        for entry in taken:
            if current.get(entry[-1]) is entry:
                heappush(heap, entry)
        looked = len(taken)
        if winner is not None:
            return Pick(winner, method_label(queue, 0), rejected, looked)
        if heap and len(taken) >= WALK_BUDGET:
            # A long run of agents who cannot take it: one pass over the rest beats walking on.
            pick = self._scan(item, queue, lazy)
            pick.rejected = (rejected + pick.rejected)[:limit]
            return pick
        if fallback is not None:
            return Pick(fallback[1], method_label(queue, int(fallback[0][0])), rejected, looked)
        return Pick(None, "no eligible agent", rejected, looked)

    def _scan(self, item: ItemState, queue: QueueConfig, lazy: LazyHeap) -> Pick:
        limit = self.world.settings.trace_candidates
        rejected: list[tuple[str, str]] = []
        agents = self.world.agents
        best: tuple[Key, str] | None = None
        for agent_id in lazy.current:
            agent = agents[agent_id]
            why = why_not(agent, item, queue)
            if why is not None:
                if len(rejected) < limit:
                    rejected.append((agent_id, why.value))
                continue
            key = rank(agent, item, queue)
            if best is None or key < best[0]:
                best = (key, agent_id)
        looked = len(lazy.current)
        if best is None:
            return Pick(None, "no eligible agent", rejected, looked)
        return Pick(best[1], method_label(queue, int(best[0][0])), rejected, looked)

    def _eligible(self, item: ItemState, queue: QueueConfig, lazy: LazyHeap) -> list[tuple[Key, str]]:
        agents = self.world.agents
        ranked = [
            (rank(agents[a], item, queue), a) for a in lazy.current if why_not(agents[a], item, queue) is None
        ]
        ranked.sort()
        return ranked

    # -- work side ---------------------------------------------------------------------------

    def best_item(self, agent: AgentState) -> ItemState | None:
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
                key = (0, *item.order_key(queue.priority))
                if best_key is None or key < best_key:
                    best, best_key = item, key
        if best is not None:
            return best
        for queue_id in agent.queues:
            line = self.lines.get(queue_id)
            if line is None or not line.groups:
                continue
            queue = queues[queue_id]
            for group in self._groups_for(agent, line, queue):
                if not (presence_ok(agent, group.allowed) and fits(agent, group.channel, group.cost)):
                    continue
                if queue.skill_match is SkillMatch.EXACT and not skills_ok(agent, group.reqs):
                    continue
                entry = self._head_for(group, agent_id, queue.decline_limit)
                if entry is None:
                    continue
                key = (1, -queue.priority, *entry[:-1])
                if best_key is None or key < best_key:
                    best, best_key = items[entry[-1]], key
        return best

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
        for size in line.sizes:
            if size > owned:
                continue
            for subset in self._subsets(agent, size):
                same = by_skillset.get(subset)
                if same:
                    found.extend(same)
        return found

    @staticmethod
    def _subsets(agent: AgentState, size: int) -> list[frozenset[str]]:
        cached = agent.skill_subsets.get(size)
        if cached is None:
            cached = [frozenset(c) for c in combinations(sorted(agent.skills), size)]
            agent.skill_subsets[size] = cached
        return cached

    def _head_for(self, group: Group, agent_id: str, decline_limit: int) -> Entry | None:
        """The first item of the group that the agent has not declined too often."""
        heap, current, items = group.heap.heap, group.heap.current, self.world.items
        skipped: list[Entry] = []
        found: Entry | None = None
        while heap:
            entry = heap[0]
            item_id = entry[-1]
            if current.get(item_id) is not entry:
                heappop(heap)
                continue
            if items[item_id].declines.get(agent_id, 0) < decline_limit:
                found = entry
                break
            skipped.append(heappop(heap))
        for entry in skipped:
            heappush(heap, entry)
        return found

    # -- index maintenance -------------------------------------------------------------------

    def changed_agent(self, agent: AgentState, queues: frozenset[str] | None = None) -> None:
        pools = self.pools
        for queue_id in agent.queues if queues is None else queues:
            pool = pools.get(queue_id)
            if pool is not None:
                pool.refresh(agent)

    def changed_membership(
        self, agent: AgentState, old_queues: frozenset[str], old_skills: dict[str, int]
    ) -> None:
        for queue_id in old_queues:
            pool = self.pools.get(queue_id)
            if pool is not None:
                pool.remove(agent, old_skills)
        self.changed_agent(agent)

    def removed_agent(self, agent: AgentState) -> None:
        for queue_id in agent.queues:
            pool = self.pools.get(queue_id)
            if pool is not None:
                pool.remove(agent, agent.skills)

    def changed_item(self, item: ItemState) -> None:
        self._regroup(item)
        self._rename(item)

    def _regroup(self, item: ItemState) -> None:
        """Keep the item in the waiting-line group matching its current requirements, if any."""
        line = self.lines.get(item.queue_id)
        target: tuple[str, GroupKey] | None = None
        if line is not None and matchable(item) and item.directed_to is None:
            target = (item.queue_id, (item.reqs, item.channel, item.cost, item.allowed))
        if item.group == target:
            return
        if item.group is not None:
            self._ungroup(item)
        if target is not None and line is not None:
            entry = (-item.priority, item.enq_ts, item.seq, item.item_id)
            line.group(target[1]).heap.put(item.item_id, entry)
            item.group = target

    def _rename(self, item: ItemState) -> None:
        """Items that name agents first (directed, affinity, preferred) are found from them."""
        item_id = item.item_id
        names: tuple[str, ...] = ()
        if matchable(item):
            names = (item.directed_to,) if item.directed_to is not None else item.preferred
        old = self.named.get(item_id, ())
        if names == old:
            return
        for agent_id in old:
            waiting = self.preferring.get(agent_id)
            if waiting is not None:
                waiting.discard(item_id)
                if not waiting:
                    del self.preferring[agent_id]
        for agent_id in names:
            self.preferring.setdefault(agent_id, set()).add(item_id)
        if names:
            self.named[item_id] = names
        else:
            self.named.pop(item_id, None)

    def _ungroup(self, item: ItemState) -> None:
        queue_id, key = item.group  # type: ignore[misc]
        line = self.lines.get(queue_id)
        if line is not None:
            group = line.groups.get(key)
            if group is not None:
                group.heap.discard(item.item_id)
                line.drop_if_empty(key)
        item.group = None

    def changed_queue(self, queue: QueueConfig) -> None:
        old = self.pools.get(queue.queue_id)
        presences = old.presences if old is not None else DEFAULT_ALLOWED_PRESENCES
        pool = self.pools[queue.queue_id] = AgentPool(queue, presences)
        self._fill(pool)
        line = self.lines.get(queue.queue_id)
        if line is None:
            self.lines[queue.queue_id] = WaitingLine()

    def removed_queue(self, queue_id: str) -> None:
        self.pools.pop(queue_id, None)
        self.lines.pop(queue_id, None)

    def changed_presences(self) -> None:
        for pool in self.pools.values():
            self._fill(pool)

    def _fill(self, pool: AgentPool) -> None:
        pool.all = LazyHeap()
        pool.by_skill = {}
        agents = self.world.agents
        for agent_id in self.world.members.get(pool.queue.queue_id, ()):
            pool.refresh(agents[agent_id])
