"""The work side of the indexed selector: each queue's matchable items, grouped for agents.

Items are grouped by what decides who may take them (required skills, channel, cost, allowed
presences); each group is a heap in work order, and ``WaitingLine.order`` keeps the groups sorted
by their best item, so an agent looking for work walks the groups from the best head down (a
plain iteration, nothing popped) and usually stops at the first it qualifies for.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from heapq import heappop
from itertools import chain

from omniroute.routing.engine.heap import Entry, LazyHeap
from omniroute.routing.engine.state import Requirements

GroupKey = tuple[Requirements, str, int | None, frozenset[str]]


class SortedEntries:
    """A sorted list kept in blocks, so that adding and removing stay cheap with 100,000 entries
    (one flat list would move half of itself on every insertion); iterating is in order."""

    __slots__ = ("blocks", "maxes")

    BLOCK = 512

    def __init__(self) -> None:
        self.blocks: list[list[Entry]] = []
        self.maxes: list[Entry] = []  # the last entry of each block

    def __iter__(self) -> Iterator[Entry]:
        return chain.from_iterable(self.blocks)

    def __len__(self) -> int:
        return sum(len(block) for block in self.blocks)

    def add(self, entry: Entry) -> None:
        maxes = self.maxes
        if not maxes:
            self.blocks.append([entry])
            maxes.append(entry)
            return
        at = bisect_left(maxes, entry)
        if at == len(maxes):
            at -= 1
            block = self.blocks[at]
            block.append(entry)
            maxes[at] = entry
        else:
            block = self.blocks[at]
            insort(block, entry)
        if len(block) > 2 * self.BLOCK:
            half = self.BLOCK
            self.blocks[at : at + 1] = [block[:half], block[half:]]
            maxes[at : at + 1] = [block[half - 1], block[-1]]

    def remove(self, entry: Entry) -> None:
        at = bisect_left(self.maxes, entry)
        block = self.blocks[at]
        del block[bisect_left(block, entry)]
        if not block:
            del self.blocks[at]
            del self.maxes[at]
        else:
            self.maxes[at] = block[-1]


class Group:
    __slots__ = ("allowed", "channel", "cost", "gid", "heap", "reqs", "skillset")

    def __init__(self, key: GroupKey, gid: str) -> None:
        self.reqs, self.channel, self.cost, self.allowed = key
        # Sorted skill names (``reqs`` is sorted): a tuple of strings, which the garbage
        # collector stops tracking, unlike a frozenset.
        self.skillset: tuple[str, ...] = tuple(s for s, _ in self.reqs)
        self.heap = LazyHeap()
        self.gid = gid


class WaitingLine:
    """One queue's matchable items, grouped by what decides who may take them."""

    __slots__ = ("by_gid", "by_skillset", "groups", "heads", "made", "order", "sizes")

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        self.by_skillset: dict[tuple[str, ...], list[Group]] = {}
        self.sizes: dict[int, int] = {}  # number of required skills -> groups
        # The groups by their best item, sorted: (*head entry, group id); walked without popping.
        self.order = SortedEntries()
        self.heads: dict[str, Entry] = {}  # group id -> its entry in ``order``
        self.by_gid: dict[str, Group] = {}
        self.made = 0

    def reorder(self, group: Group) -> None:
        """Follow a change of the group's best item."""
        heap, current = group.heap.heap, group.heap.current
        while heap and current.get(heap[0][-1]) is not heap[0]:
            heappop(heap)
        gid = group.gid
        old = self.heads.get(gid)
        entry = (*heap[0], gid) if heap else None
        if old == entry:
            return
        if old is not None:
            self.order.remove(old)
        if entry is None:
            del self.heads[gid]
        else:
            self.order.add(entry)
            self.heads[gid] = entry

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
        old = self.heads.pop(group.gid, None)
        if old is not None:
            self.order.remove(old)
        same = self.by_skillset[group.skillset]
        same.remove(group)
        if not same:
            del self.by_skillset[group.skillset]
        size = len(group.reqs)
        self.sizes[size] -= 1
        if not self.sizes[size]:
            del self.sizes[size]
