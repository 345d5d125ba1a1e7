"""A min-heap of keyed members with lazy deletion: O(log n) insert and re-key, O(1) removal.

Each member has one live entry, a tuple ``(*key, member_id)`` stored in ``current``; a heap
entry is stale unless it *is* (identity, not equality) the live one. Re-keying pushes a new
entry and leaves the old one to be skipped when it reaches the top; the heap is rebuilt from
``current`` when stale entries outnumber live ones, so memory stays O(members).
"""

from __future__ import annotations

from heapq import heapify, heappush
from typing import Any

Entry = tuple[Any, ...]


class LazyHeap:
    __slots__ = ("current", "heap")

    def __init__(self) -> None:
        self.heap: list[Entry] = []
        self.current: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self.current)

    def put(self, member: str, entry: Entry) -> None:
        old = self.current.get(member)
        if old == entry:
            return
        self.current[member] = entry
        heappush(self.heap, entry)
        if len(self.heap) > 2 * len(self.current) + 64:
            self.compact()

    def discard(self, member: str) -> None:
        if self.current.pop(member, None) is not None and len(self.heap) > 2 * len(self.current) + 64:
            self.compact()

    def compact(self) -> None:
        self.heap = list(self.current.values())
        heapify(self.heap)
