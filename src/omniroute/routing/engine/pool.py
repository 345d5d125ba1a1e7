"""The agent side of the indexed selector: each queue's members with room, in the method's order.

An ``Index`` holds the pool members who have every skill of its skill set (the empty set: all of
them). Agents sit in buckets by ``(rank, units class)`` and, inside a bucket, in ``key`` order:

* ``rank`` is the part of the method's key that a load change does not move: minus the free
  capacity for highest capacity, minus the total proficiency in the index's skills for most
  skilled, else 0;
* the units class is the largest unit need seen in the queue that the agent's free units cover
  (see ``AgentPool.needs``), so an item only walks buckets whose agents have room for it;
* ``key`` is the idle sequence, or for round robin the rotation position.

Walking the ranks in order and merging one rank's buckets that have room for the item yields the
candidates in exactly the order of ``state.method_key``, so the first eligible agent is the
answer and nothing is sorted per decision.

Every load change hands the agent a new idle sequence, the highest yet, so re-keying it is
"delete, append at the end" in a dict that keeps insertion order (O(1), no heap). Round robin
keeps its place in the rotation across load changes, so its buckets are sorted lists (bisect).
The rare out-of-order insertion into a dict bucket (a capacity or presence change that keeps the
idle sequence) marks the bucket for sorting before its next walk.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from operator import itemgetter

from omniroute.routing.engine.model import NEVER_ROUTABLE, AssignmentMethod, CapacityProfile, QueueConfig
from omniroute.routing.engine.selection import method_label
from omniroute.routing.engine.state import AgentState, ItemState, free_capacity, has_room

#: Bucket of agents without a unit budget (per-channel limits only): considered for any item.
ROOMY = 1 << 30
#: Round-robin key of a member with no rotation position yet (after a restart): before everyone
#: who has one, among themselves by idle order.
UNROTATED = 1 << 62
#: Skill-set indexes kept per queue; past this the least recently walked one is dropped (if it
#: has not been walked for ``STALE_WALKS`` walks) or the item is answered by a scan.
MAX_INDEXES = 64
STALE_WALKS = 1000

Candidates = Iterator[tuple[int, str]]  # (key, agent id) in key order

_by_key = itemgetter(1)
_first = itemgetter(0)
_key_and_member = itemgetter(0, 1)
_ROTATION = AssignmentMethod.ROUND_ROBIN
_CAPACITY = AssignmentMethod.HIGHEST_CAPACITY
_SKILLED = AssignmentMethod.MOST_SKILLED


class Slot:
    """One agent's place in one index: its static rank there and the bucket holding it."""

    __slots__ = ("bucket", "group", "index", "key", "rank", "units")

    def __init__(self, index: Index, rank: int) -> None:
        self.index = index
        self.rank = rank
        self.group: dict[int, Bucket] | None = None  # the index's buckets for ``rank``
        self.bucket: Bucket | None = None  # None: not in the index now (no room)
        self.units = 0  # units class and key where it sits (round robin finds it by them)
        self.key = 0


Bucket = dict[str, int]  # member -> key, in key order


class Index:
    """Members with room that have every skill in ``skills``; buckets are dicts in key order."""

    __slots__ = ("dirty", "groups", "ranks", "size", "skills", "used")

    def __init__(self, skills: tuple[str, ...]) -> None:
        self.skills = skills
        self.groups: dict[int, dict[int, Bucket]] = {}  # rank -> units class -> bucket
        self.ranks: list[int] = []  # sorted: best rank first
        self.size = 0
        self.dirty: list[Bucket] = []
        self.used = 0  # the pool's walk count when last used (for eviction)

    def group(self, rank: int) -> dict[int, Bucket]:
        group = self.groups.get(rank)
        if group is None:
            group = self.groups[rank] = {}
            insort(self.ranks, rank)
        return group

    def put(self, slot: Slot, member: str, rank: int, units: int, key: int, fresh: bool) -> None:
        """Place or move a member; ``fresh``: its key is above every key placed so far."""
        group = slot.group if rank == slot.rank and slot.group is not None else self.group(rank)
        if rank == slot.rank:
            slot.group = group
        bucket = group.get(units)
        if bucket is None:
            bucket = group[units] = {}
        old = slot.bucket
        if old is not None:
            if old is bucket and old[member] == key:
                return
            del old[member]
        else:
            self.size += 1
        if not fresh and bucket and next(reversed(bucket.values())) > key:
            self.dirty.append(bucket)
        bucket[member] = key
        slot.bucket = bucket

    def drop(self, slot: Slot, member: str) -> None:
        if slot.bucket is not None:
            del slot.bucket[member]
            slot.bucket = None
            self.size -= 1

    def clear(self) -> None:
        """Empty the index (the caller resets the slots)."""
        self.groups.clear()
        self.ranks.clear()
        self.dirty.clear()
        self.size = 0

    def ordered(self, units: int, need: int = 0) -> Iterator[list[Candidates]]:
        """Rank by rank, best first, the buckets with room for ``units``, each in key order.

        Stops before ranks whose total proficiency (minus the rank) is below ``need``. The
        caller merges a rank's buckets by key (usually there is one, or the first agent does).
        """
        if self.dirty:
            for bucket in self.dirty:
                ordered = sorted(bucket.items(), key=_by_key)
                bucket.clear()
                bucket.update(ordered)
            self.dirty.clear()
        groups = self.groups
        for rank in self.ranks:
            if -rank < need:
                return
            buckets: list[Candidates] = [
                zip(b.values(), b, strict=True) for u, b in groups[rank].items() if u >= units and b
            ]
            if buckets:
                yield buckets

    def candidates(self, units: int) -> Iterator[str]:
        """Every member with room for ``units``, in no particular order."""
        for group in self.groups.values():
            for u, bucket in group.items():
                if u >= units:
                    yield from bucket


class RotationIndex(Index):
    """Round robin: a member keeps its rotation place across load changes, so sorted lists."""

    __slots__ = ("lists",)

    def __init__(self, skills: tuple[str, ...]) -> None:
        super().__init__(skills)
        self.lists: dict[int, list[tuple[int, str]]] = {}  # units class -> sorted (key, member)

    def put(self, slot: Slot, member: str, rank: int, units: int, key: int, fresh: bool) -> None:
        if slot.bucket is not None:
            if slot.key == key and slot.units == units:
                return
            left = self.lists[slot.units]
            del left[bisect_left(left, (slot.key, member))]
        else:
            self.size += 1
        entries = self.lists.get(units)
        if entries is None:
            entries = self.lists[units] = []
        entry = (key, member)
        if not entries or entries[-1] < entry:
            entries.append(entry)
        else:
            insort(entries, entry)
        slot.bucket, slot.units, slot.key = _PLACED, units, key

    def drop(self, slot: Slot, member: str) -> None:
        if slot.bucket is not None:
            entries = self.lists[slot.units]
            del entries[bisect_left(entries, (slot.key, member))]
            slot.bucket = None
            self.size -= 1

    def clear(self) -> None:
        self.lists.clear()
        self.size = 0

    def ordered(self, units: int, need: int = 0) -> Iterator[list[Candidates]]:
        lists = [iter(entries) for u, entries in self.lists.items() if u >= units and entries]
        if lists:
            yield lists

    def candidates(self, units: int) -> Iterator[str]:
        for u, entries in self.lists.items():
            if u >= units:
                for _, member in entries:
                    yield member


_PLACED: Bucket = {}  # a rotation slot's marker that it is in its index (the place is units, key)


def in_key_order(buckets: list[Candidates]) -> Iterator[str]:
    """The members of one rank's buckets (each in key order) merged by key."""
    if len(buckets) == 1:
        for _, member in buckets[0]:
            yield member
        return
    # [head (key, member), the rest of its bucket]; keys are unique, so min() never compares
    # the iterators themselves.
    heads: list[tuple[tuple[int, str], Candidates]] = [
        (first, rest) for rest in buckets if (first := next(rest, None)) is not None
    ]
    while heads:
        at = heads.index(min(heads, key=_first))
        (_, member), rest = heads[at]
        following = next(rest, None)
        if following is None:
            del heads[at]
        else:
            heads[at] = (following, rest)
        yield member


class AgentPool:
    """One queue's members with an allowed presence and room, indexed for its method."""

    __slots__ = (
        "agents",
        "all",
        "costs",
        "indexes",
        "label",
        "method",
        "min_cost",
        "needs",
        "of_agent",
        "presences",
        "profiles",
        "queue",
        "room",
        "walks",
    )

    def __init__(self, queue: QueueConfig, presences: frozenset[str], agents: dict[str, AgentState]) -> None:
        self.queue = queue
        self.method = queue.method
        self.presences = presences
        self.agents = agents
        self.label = method_label(queue, 0)
        self.all = self._new(())
        self.indexes: dict[tuple[str, ...], Index] = {}
        # The member's slot in each index it belongs to (``all`` first); kept while the agent is
        # a member (also when it has no room), dropped when its skills or queues change.
        self.of_agent: dict[str, list[Slot]] = {}
        self.room: dict[str, int] = {}  # members in the pool -> units class (ROOMY: no budget)
        # Agents are bucketed by the largest unit need seen so far that their free units cover:
        # an item needing u units walks the buckets from u up, which hold exactly the agents
        # with u or more free, and a load change that stays within a class moves no bucket.
        self.needs: list[int] = [1]
        self.walks = 0
        # Every distinct channel-cost table among members, for a lower bound of an item's units.
        # Profiles are held by id, and kept alive so that an id is never reused for another one.
        self.profiles: dict[int, CapacityProfile] = {}
        self.costs: set[frozenset[tuple[str, int]]] = set()
        self.min_cost: dict[str, int] = {}

    def _new(self, skills: tuple[str, ...]) -> Index:
        if self.queue.method is AssignmentMethod.ROUND_ROBIN:
            return RotationIndex(skills)
        return Index(skills)

    def key(self, agent: AgentState) -> int:
        if self.queue.method is AssignmentMethod.ROUND_ROBIN:
            return agent.rr.get(self.queue.queue_id, 0) or agent.idle_seq - UNROTATED
        return agent.idle_seq

    def units_class(self, agent: AgentState) -> int:
        """The agent's units class, or 0 when it does not belong in the pool (presence, room)."""
        total = agent.profile.total_units
        if total is None:
            units = ROOMY if has_room(agent) else 0
        else:
            units = total - agent.used_units
            if units > 0:
                needs = self.needs
                units = needs[bisect_right(needs, units) - 1]
        base = agent.base  # presence_ok, inlined: this runs on every load change
        if base in NEVER_ROUTABLE or (agent.presence not in self.presences and base not in self.presences):
            return 0
        return max(units, 0)

    def refresh(self, agent: AgentState, fresh: bool) -> None:
        """Follow a change of the agent's load, presence, capacity or rotation place."""
        agent_id = agent.agent_id
        units = self.units_class(agent)
        if not units:
            if agent_id in self.room:
                self.leave(agent_id)
            return
        profile = agent.profile
        if self.profiles.get(id(profile)) is not profile:
            self._saw(profile)
        self.room[agent_id] = units
        method = self.method
        if method is _ROTATION:
            key = agent.rr.get(self.queue.queue_id, 0) or agent.idle_seq - UNROTATED
        else:
            key = agent.idle_seq
        mine = self.of_agent.get(agent_id)
        if mine is None:
            mine = self._join(agent)
        if method is _ROTATION or method is _CAPACITY or not fresh:
            # highest capacity: the rank is the free capacity, the same in every index
            rank = -free_capacity(agent) if method is _CAPACITY else 0
            for slot in mine:
                slot.index.put(slot, agent_id, rank if method is _CAPACITY else slot.rank, units, key, fresh)
            return
        # A load change: the new key is the highest yet, so each move is "delete, append" in the
        # two buckets concerned (Index.put's common case, inlined: it runs for every index).
        for slot in mine:
            group = slot.group
            bucket = group.get(units) if group is not None else None
            if bucket is None:
                slot.index.put(slot, agent_id, slot.rank, units, key, fresh)
                continue
            old = slot.bucket
            if old is not None:
                del old[agent_id]
            else:
                slot.index.size += 1
            bucket[agent_id] = key
            slot.bucket = bucket

    def leave(self, agent_id: str) -> None:
        del self.room[agent_id]
        for slot in self.of_agent[agent_id]:
            slot.index.drop(slot, agent_id)

    def forget(self, agent_id: str) -> None:
        """The agent left the queue or changed skills: drop it everywhere."""
        if agent_id in self.room:
            self.leave(agent_id)
        self.of_agent.pop(agent_id, None)

    def _join(self, agent: AgentState) -> list[Slot]:
        skills = agent.skills
        mine = [Slot(self.all, 0)]
        mine += [
            Slot(index, self._static_rank(skills, index.skills))
            for index in self.indexes.values()
            if all(s in skills for s in index.skills)
        ]
        self.of_agent[agent.agent_id] = mine
        return mine

    def _static_rank(self, skills: dict[str, int], wanted: tuple[str, ...]) -> int:
        """Most skilled's rank in an index: minus the total proficiency in its skills."""
        return -sum(skills[s] for s in wanted) if self.method is _SKILLED else 0

    def index_for(self, skills: tuple[str, ...]) -> Index | None:
        """The index of members who have every one of ``skills`` (built on first use).

        None when the queue already keeps ``MAX_INDEXES`` of them and none is stale: the caller
        answers by a scan instead.
        """
        if not skills:
            return self.all
        index = self.indexes.get(skills)
        if index is not None:
            index.used = self.walks
            return index
        if len(self.indexes) >= MAX_INDEXES and not self._evict():
            return None
        index = self.indexes[skills] = self._new(skills)
        index.used = self.walks
        agents = self.agents
        method = self.queue.method
        joined: list[tuple[int, str, Slot]] = []
        for agent_id, mine in self.of_agent.items():
            agent = agents[agent_id]
            have = agent.skills
            if all(s in have for s in skills):
                slot = Slot(index, self._static_rank(have, skills))
                mine.append(slot)
                if agent_id in self.room:
                    joined.append((self.key(agent), agent_id, slot))
        joined.sort(key=_key_and_member)  # in key order, so each bucket fills in order
        for key, agent_id, slot in joined:
            rank = -free_capacity(agents[agent_id]) if method is _CAPACITY else slot.rank
            index.put(slot, agent_id, rank, self.room[agent_id], key, False)
        return index

    def _evict(self) -> bool:
        stalest = min(self.indexes.values(), key=lambda i: i.used)
        if self.walks - stalest.used < STALE_WALKS:
            return False
        del self.indexes[stalest.skills]
        for mine in self.of_agent.values():
            mine[:] = [slot for slot in mine if slot.index is not stalest]
        return True

    def _saw(self, profile: CapacityProfile) -> None:
        self.profiles[id(profile)] = profile
        costs = frozenset(profile.channel_units.items())
        if costs not in self.costs:
            self.costs.add(costs)
            self.min_cost.clear()

    def units_needed(self, item: ItemState) -> int:
        """The fewest units the item could take from any member (a lower bound for every agent)."""
        if item.cost is not None:
            units = max(1, item.cost)
        else:
            channel = item.channel
            cached = self.min_cost.get(channel)
            if cached is None:
                cached = min((max(1, dict(c).get(channel, 1)) for c in self.costs), default=1)
                self.min_cost[channel] = cached
            units = cached
        needs = self.needs
        if needs[bisect_right(needs, units) - 1] != units:
            self._new_need(units)
        return units

    def _new_need(self, units: int) -> None:
        """A unit need not seen before: split the buckets at it (rare: once per distinct cost)."""
        insort(self.needs, units)
        agents = self.agents
        members = sorted((agents[a] for a in self.room), key=self.key)
        self.room.clear()
        self.all.clear()
        for index in self.indexes.values():
            index.clear()
        for mine in self.of_agent.values():
            for slot in mine:
                slot.group = slot.bucket = None
        for agent in members:
            self.refresh(agent, False)

    def members_in_key_order(self, members: Iterable[str]) -> list[AgentState]:
        agents = self.agents
        return sorted((agents[a] for a in members), key=self.key)
