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
from collections.abc import Iterable, Iterator, Sized
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
_ROTATION = AssignmentMethod.ROUND_ROBIN
_CAPACITY = AssignmentMethod.HIGHEST_CAPACITY
_SKILLED = AssignmentMethod.MOST_SKILLED


class Index:
    """Members with room that have every skill in ``skills``; buckets are dicts in key order."""

    __slots__ = ("dirty", "groups", "members", "ranks", "skills", "used", "where")

    def __init__(self, skills: tuple[str, ...]) -> None:
        self.skills = skills
        self.groups: dict[int, dict[int, dict[str, int]]] = {}  # rank -> units class -> bucket
        self.ranks: list[int] = []  # sorted: best rank first
        self.where: dict[str, dict[str, int]] = {}  # member -> its bucket
        self.members: Sized = self.where  # len() of it is the index's size, for every kind
        self.dirty: list[dict[str, int]] = []
        self.used = 0  # the pool's walk count when last used (for eviction)

    def put(self, member: str, rank: int, units: int, key: int, fresh: bool) -> None:
        """Place or move a member; ``fresh``: its key is above every key placed so far."""
        group = self.groups.get(rank)
        if group is None:
            group = self.groups[rank] = {}
            insort(self.ranks, rank)
        bucket = group.get(units)
        if bucket is None:
            bucket = group[units] = {}
        old = self.where.get(member)
        if old is not None:
            if old is bucket and old[member] == key:
                return
            del old[member]
        if not fresh and bucket and next(reversed(bucket.values())) > key:
            self.dirty.append(bucket)
        bucket[member] = key
        self.where[member] = bucket

    def drop(self, member: str) -> None:
        old = self.where.pop(member, None)
        if old is not None:
            del old[member]

    def clear(self) -> None:
        self.groups.clear()
        self.ranks.clear()
        self.where.clear()
        self.dirty.clear()

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

    __slots__ = ("lists", "places")

    def __init__(self, skills: tuple[str, ...]) -> None:
        super().__init__(skills)
        self.lists: dict[int, list[tuple[int, str]]] = {}  # units class -> sorted (key, member)
        self.places: dict[str, tuple[int, int]] = {}  # member -> (units class, key)
        self.members = self.places

    def put(self, member: str, rank: int, units: int, key: int, fresh: bool) -> None:
        places = self.places
        old = places.get(member)
        if old is not None:
            if old[1] == key and old[0] == units:
                return
            left = self.lists[old[0]]
            del left[bisect_left(left, (old[1], member))]
        entries = self.lists.get(units)
        if entries is None:
            entries = self.lists[units] = []
        entry = (key, member)
        if not entries or entries[-1] < entry:
            entries.append(entry)
        else:
            insort(entries, entry)
        places[member] = (units, key)

    def drop(self, member: str) -> None:
        old = self.places.pop(member, None)
        if old is not None:
            entries = self.lists[old[0]]
            del entries[bisect_left(entries, (old[1], member))]

    def clear(self) -> None:
        self.lists.clear()
        self.places.clear()

    def ordered(self, units: int, need: int = 0) -> Iterator[list[Candidates]]:
        lists = [iter(entries) for u, entries in self.lists.items() if u >= units and entries]
        if lists:
            yield lists

    def candidates(self, units: int) -> Iterator[str]:
        for u, entries in self.lists.items():
            if u >= units:
                for _, member in entries:
                    yield member


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
        # Skill-set indexes each member belongs to, with its static rank there; kept while the
        # agent is a member (also when it has no room), dropped when its skills change.
        self.of_agent: dict[str, list[tuple[Index, int]]] = {}
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
        rank = -free_capacity(agent) if method is _CAPACITY else 0
        extra = self.of_agent.get(agent_id)
        if extra is None:
            extra = self._join(agent)
        if method is _ROTATION or not fresh:
            self.all.put(agent_id, rank, units, key, fresh)
            for index, static in extra:
                index.put(agent_id, static if method is _SKILLED else rank, units, key, fresh)
            return
        # A load change: the new key is the highest yet, so each move is "delete, append" (this
        # is Index.put's common case, inlined because it runs for every index of the agent).
        for index, static in ((self.all, rank), *extra):
            group = index.groups.get(static if method is _SKILLED else rank)
            bucket = group.get(units) if group is not None else None
            if bucket is None:
                index.put(agent_id, static if method is _SKILLED else rank, units, key, fresh)
                continue
            where = index.where
            old = where.get(agent_id)
            if old is not None:
                del old[agent_id]
            bucket[agent_id] = key
            where[agent_id] = bucket

    def leave(self, agent_id: str) -> None:
        del self.room[agent_id]
        self.all.drop(agent_id)
        for index, _ in self.of_agent.get(agent_id, ()):
            index.drop(agent_id)

    def forget(self, agent_id: str) -> None:
        """The agent left the queue or changed skills: drop it everywhere."""
        if agent_id in self.room:
            self.leave(agent_id)
        self.of_agent.pop(agent_id, None)

    def _join(self, agent: AgentState) -> list[tuple[Index, int]]:
        skills = agent.skills
        extra = [
            (index, _rank_in(skills, index.skills))
            for index in self.indexes.values()
            if all(s in skills for s in index.skills)
        ]
        self.of_agent[agent.agent_id] = extra
        return extra

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
        joined: list[tuple[int, str, int]] = []
        for agent_id, extra in self.of_agent.items():
            agent = agents[agent_id]
            have = agent.skills
            if all(s in have for s in skills):
                static = _rank_in(have, skills)
                extra.append((index, static))
                if agent_id in self.room:
                    joined.append((self.key(agent), agent_id, static))
        joined.sort()  # in key order, so each bucket fills in order
        for key, agent_id, static in joined:
            agent = agents[agent_id]
            if method is AssignmentMethod.MOST_SKILLED:
                rank = static
            elif method is AssignmentMethod.HIGHEST_CAPACITY:
                rank = -free_capacity(agent)
            else:
                rank = 0
            index.put(agent_id, rank, self.room[agent_id], key, False)
        return index

    def _evict(self) -> bool:
        stalest = min(self.indexes.values(), key=lambda i: i.used)
        if self.walks - stalest.used < STALE_WALKS:
            return False
        del self.indexes[stalest.skills]
        for extra in self.of_agent.values():
            extra[:] = [pair for pair in extra if pair[0] is not stalest]
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
        for agent in members:
            self.refresh(agent, False)

    def members_in_key_order(self, members: Iterable[str]) -> list[AgentState]:
        agents = self.agents
        return sorted((agents[a] for a in members), key=self.key)


def _rank_in(skills: dict[str, int], wanted: tuple[str, ...]) -> int:
    """Most skilled's rank in an index: minus the total proficiency in its skills."""
    return -sum(skills[s] for s in wanted)
