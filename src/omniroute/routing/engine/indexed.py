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
    CapacityProfile,
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

#: Groups walked in head order before looking groups up by the agent's own skills instead.
GROUP_WALK = 32

ORDERED_METHODS = frozenset(
    {AssignmentMethod.LONGEST_IDLE, AssignmentMethod.HIGHEST_CAPACITY, AssignmentMethod.ROUND_ROBIN}
)

GroupKey = tuple[Requirements, str, int | None, frozenset[str]]


#: Bucket of agents without a unit budget (per-channel limits only): considered for any item.
ROOMY = 1 << 30


class Buckets:
    """Members with room, split by free capacity units, each bucket a heap in method order.

    An item that needs ``u`` units only looks at buckets of ``u`` free units or more, so agents
    with some room but not enough (a call needs an agent with nothing else on) are never walked.
    """

    __slots__ = ("heaps", "where")

    def __init__(self) -> None:
        self.heaps: dict[int, LazyHeap] = {}
        self.where: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.where)

    def put(self, member: str, bucket: int, entry: Entry) -> None:
        old = self.where.get(member)
        if old is not None and old != bucket:
            self.heaps[old].discard(member)
        self.where[member] = bucket
        heap = self.heaps.get(bucket)
        if heap is None:
            heap = self.heaps[bucket] = LazyHeap()
        heap.put(member, entry)

    def discard(self, member: str) -> None:
        old = self.where.pop(member, None)
        if old is not None:
            self.heaps[old].discard(member)

    def at_least(self, units: int) -> list[LazyHeap]:
        return [h for b, h in self.heaps.items() if b >= units and h.current]


class AgentPool:
    """One queue's members with room, ordered by the queue's method key."""

    __slots__ = ("all", "by_skill", "costs", "min_cost", "presences", "profile_ids", "queue")

    def __init__(self, queue: QueueConfig, presences: frozenset[str]) -> None:
        self.queue = queue
        self.presences = presences
        self.all = Buckets()
        self.by_skill: dict[str, Buckets] = {}
        # Every distinct channel-cost table among members, for a lower bound of an item's units.
        self.profile_ids: set[int] = set()
        self.costs: set[frozenset[tuple[str, int]]] = set()
        self.min_cost: dict[str, int] = {}

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
        profile = agent.profile
        if id(profile) not in self.profile_ids:
            self._saw(profile)
        total = profile.total_units
        bucket = ROOMY if total is None else total - agent.used_units
        entry = self.entry(agent)
        self.all.put(agent_id, bucket, entry)
        by_skill = self.by_skill
        most_skilled = self.queue.method is AssignmentMethod.MOST_SKILLED
        for skill, level in agent.skills.items():
            buckets = by_skill.get(skill)
            if buckets is None:
                buckets = by_skill[skill] = Buckets()
            buckets.put(agent_id, bucket, (-level, agent.idle_seq, agent_id) if most_skilled else entry)

    def remove(self, agent: AgentState, skills: dict[str, int]) -> None:
        agent_id = agent.agent_id
        self.all.discard(agent_id)
        for skill in skills:
            buckets = self.by_skill.get(skill)
            if buckets is not None:
                buckets.discard(agent_id)

    def _saw(self, profile: CapacityProfile) -> None:
        self.profile_ids.add(id(profile))
        costs = frozenset(profile.channel_units.items())
        if costs not in self.costs:
            self.costs.add(costs)
            self.min_cost.clear()

    def units_needed(self, item: ItemState) -> int:
        """The fewest units the item could take from any member (a lower bound for every agent)."""
        if item.cost is not None:
            return max(1, item.cost)
        channel = item.channel
        cached = self.min_cost.get(channel)
        if cached is None:
            cached = min((max(1, dict(c).get(channel, 1)) for c in self.costs), default=1)
            self.min_cost[channel] = cached
        return cached


class Group:
    __slots__ = ("allowed", "channel", "cost", "gid", "heap", "reqs", "skillset")

    def __init__(self, key: GroupKey, gid: str) -> None:
        self.reqs, self.channel, self.cost, self.allowed = key
        self.skillset = frozenset(s for s, _ in self.reqs)
        self.heap = LazyHeap()
        self.gid = gid


class WaitingLine:
    """One queue's matchable items, grouped by what decides who may take them.

    ``order`` keeps the groups in the order of their best item, so an agent looking for work
    walks the groups from the best head down and usually stops at the first it qualifies for.
    """

    __slots__ = ("by_gid", "by_skillset", "groups", "made", "order", "sizes")

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        self.by_skillset: dict[frozenset[str], list[Group]] = {}
        self.sizes: dict[int, int] = {}  # number of required skills -> groups
        self.order = LazyHeap()  # group id -> (*its head entry, group id)
        self.by_gid: dict[str, Group] = {}
        self.made = 0

    def reorder(self, group: Group) -> None:
        """Follow a change of the group's best item."""
        heap, current = group.heap.heap, group.heap.current
        while heap and current.get(heap[0][-1]) is not heap[0]:
            heappop(heap)
        if heap:
            self.order.put(group.gid, (*heap[0], group.gid))
        else:
            self.order.discard(group.gid)

    def group(self, key: GroupKey) -> Group:
        group = self.groups.get(key)
        if group is None:
            self.made += 1
            group = self.groups[key] = Group(key, f"g{self.made}")
            self.by_gid[group.gid] = group
            self.by_skillset.setdefault(group.skillset, []).append(group)
            size = len(group.reqs)
            self.sizes[size] = self.sizes.get(size, 0) + 1
        return group

    def drop_if_empty(self, key: GroupKey) -> None:
        group = self.groups.get(key)
        if group is None or group.heap.current:
            return
        del self.groups[key]
        del self.by_gid[group.gid]
        self.order.discard(group.gid)
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

    def _candidates(self, pool: AgentPool, item: ItemState) -> list[LazyHeap] | None:
        """The heaps that hold every possible candidate, as few as possible (None: nobody can).

        The rarest required skill's buckets with enough free units for the item.
        """
        units = pool.units_needed(item)
        if pool.queue.skill_match is SkillMatch.CLOSEST or not item.reqs:
            heaps = pool.all.at_least(units)
            return heaps or None
        best: Buckets | None = None
        by_skill = pool.by_skill
        skill_order = pool.queue.method is AssignmentMethod.MOST_SKILLED
        for skill, _ in item.reqs:
            buckets = by_skill.get(skill)
            if buckets is None or not buckets.where:
                return None
            if skill_order:  # most skilled walks its first skill's heaps: ordered by that level
                best = buckets
                break
            if best is None or len(buckets) < len(best):
                best = buckets
        assert best is not None
        return best.at_least(units) or None

    @staticmethod
    def _walkable(queue: QueueConfig, item: ItemState) -> bool:
        if queue.skill_match is not SkillMatch.EXACT:
            return False
        if queue.method in ORDERED_METHODS:
            return True
        # Most skilled orders each skill's heap by that skill's level: exact for one skill, and
        # with several the walk stops once nobody further down can reach the best total.
        return queue.method is AssignmentMethod.MOST_SKILLED

    def _walk(self, item: ItemState, queue: QueueConfig, heaps: list[LazyHeap]) -> Pick:
        """Take entries in order (merging the buckets) until an agent passes every rule.

        The first eligible agent who never declined the item wins; if every eligible agent has
        declined it, the one with the fewest declines (then the method's order) does.
        """
        if queue.method is AssignmentMethod.MOST_SKILLED and len(item.reqs) > 1:
            return self._walk_best_total(item, queue, heaps)
        agents, declines = self.world.agents, item.declines
        limit = self.world.settings.trace_candidates
        taken: list[tuple[LazyHeap, Entry]] = []
        rejected: list[tuple[str, str]] = []
        fallback: tuple[Key, str] | None = None
        while True:
            lazy, entry = _pop_min(heaps)
            if lazy is None:
                break
            taken.append((lazy, entry))
            agent_id = entry[-1]
            why = why_not(agents[agent_id], item, queue)
            if why is not None:
                if len(rejected) < limit:
                    rejected.append((agent_id, why.value))
                continue
            count = declines.get(agent_id, 0)
            if not count:
                _push_back(taken)
                return Pick(agent_id, method_label(queue, 0), rejected, len(taken))
            key = (count, *entry[:-1])
            if fallback is None or key < fallback[0]:
                fallback = (key, agent_id)
        _push_back(taken)
        if fallback is not None:
            return Pick(fallback[1], method_label(queue, int(fallback[0][0])), rejected, len(taken))
        return Pick(None, "no eligible agent", rejected, len(taken))

    def _walk_best_total(self, item: ItemState, queue: QueueConfig, heaps: list[LazyHeap]) -> Pick:
        """Most skilled over several skills: the heaps follow the first skill's level only.

        Keep the best total seen and stop once even a perfect 10 in the other skills could not
        reach it (Fagin's threshold idea with the top level as the bound).
        """
        agents, declines = self.world.agents, item.declines
        limit = self.world.settings.trace_candidates
        others = 10 * (len(item.reqs) - 1)
        taken: list[tuple[LazyHeap, Entry]] = []
        rejected: list[tuple[str, str]] = []
        best: tuple[Key, str] | None = None  # among agents who never declined it
        fallback: tuple[Key, str] | None = None
        while True:
            lazy, entry = _pop_min(heaps)
            if lazy is None:
                break
            taken.append((lazy, entry))
            if best is not None and -int(entry[0]) + others < -int(best[0][0]):
                break  # nobody further down reaches the best total
            agent_id = entry[-1]
            agent = agents[agent_id]
            why = why_not(agent, item, queue)
            if why is not None:
                if len(rejected) < limit:
                    rejected.append((agent_id, why.value))
                continue
            key = rank(agent, item, queue)
            if not declines.get(agent_id, 0):
                if best is None or key[1:] < best[0]:
                    best = (key[1:], agent_id)
            elif fallback is None or key < fallback[0]:
                fallback = (key, agent_id)
        _push_back(taken)
        if best is not None:
            return Pick(best[1], method_label(queue, 0), rejected, len(taken))
        if fallback is not None:
            return Pick(fallback[1], method_label(queue, int(fallback[0][0])), rejected, len(taken))
        return Pick(None, "no eligible agent", rejected, len(taken))

    def _scan(self, item: ItemState, queue: QueueConfig, heaps: list[LazyHeap]) -> Pick:
        limit = self.world.settings.trace_candidates
        rejected: list[tuple[str, str]] = []
        agents = self.world.agents
        best: tuple[Key, str] | None = None
        looked = 0
        for lazy in heaps:
            looked += len(lazy.current)
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
        if best is None:
            return Pick(None, "no eligible agent", rejected, looked)
        return Pick(best[1], method_label(queue, int(best[0][0])), rejected, looked)

    def _eligible(self, item: ItemState, queue: QueueConfig, heaps: list[LazyHeap]) -> list[tuple[Key, str]]:
        agents = self.world.agents
        ranked = [
            (rank(agents[a], item, queue), a)
            for lazy in heaps
            for a in lazy.current
            if why_not(agents[a], item, queue) is None
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
            if line is not None and line.groups:
                found = self._best_in_line(agent, line, queues[queue_id], best_key)
                if found is not None:
                    best_key = found
                    best = items[str(found[-1])]
        return best

    def _best_in_line(
        self, agent: AgentState, line: WaitingLine, queue: QueueConfig, best_key: Key | None
    ) -> Key | None:
        """The work-order key (ending in the item id) of the best item here, if it beats best_key.

        Walks the groups in the order of their best item and stops as soon as the next group's
        best cannot beat what was found. After ``GROUP_WALK`` groups the agent does not qualify
        for, it switches to the groups its own skills cover, which bounds the work.
        """
        prefix = (1, -queue.priority)
        found: Key | None = None
        order = line.order
        taken: list[tuple[LazyHeap, Entry]] = []
        finished = True
        while True:
            lazy, entry = _pop_min([order])
            if lazy is None:
                break
            taken.append((lazy, entry))
            if best_key is not None and (*prefix, *entry[:-2]) >= best_key:
                break
            if len(taken) > GROUP_WALK:
                finished = False
                break
            key = self._head_key(agent, line.by_gid[entry[-1]], queue, prefix)
            if key is not None and (best_key is None or key < best_key):
                best_key = found = key
        _push_back(taken)
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
        """Work-order key of the group's first item this agent may take (None: none)."""
        if not (presence_ok(agent, group.allowed) and fits(agent, group.channel, group.cost)):
            return None
        if queue.skill_match is SkillMatch.EXACT and not skills_ok(agent, group.reqs):
            return None
        entry = self._head_for(group, agent.agent_id, queue.decline_limit)
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
            group = line.group(target[1])
            group.heap.put(item.item_id, entry)
            line.reorder(group)
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
                line.reorder(group)
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
        pool.all = Buckets()
        pool.by_skill = {}
        agents = self.world.agents
        for agent_id in self.world.members.get(pool.queue.queue_id, ()):
            pool.refresh(agents[agent_id])


def _pop_min(heaps: list[LazyHeap]) -> tuple[LazyHeap | None, Entry]:
    """Pop the smallest live entry across several heaps (stale tops are dropped on the way)."""
    found: LazyHeap | None = None
    top: Entry = ()
    for lazy in heaps:
        heap, current = lazy.heap, lazy.current
        while heap and current.get(heap[0][-1]) is not heap[0]:
            heappop(heap)
        if heap and (found is None or heap[0] < top):
            found, top = lazy, heap[0]
    if found is not None:
        heappop(found.heap)
    return found, top


def _push_back(taken: list[tuple[LazyHeap, Entry]]) -> None:
    """Return walked entries that are still live (a chosen agent's entry goes stale on its own)."""
    for lazy, entry in taken:
        if lazy.current.get(entry[-1]) is entry:
            heappush(lazy.heap, entry)
