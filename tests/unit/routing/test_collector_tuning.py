"""The routing leader's garbage-collector tuning (``leader.CollectorTuning``, ADR 13)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from omniroute.routing.leader import CollectorTuning


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    """The tuning is process-wide: put CPython's collector back as it was after each test."""
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class Node:
    """A container that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_small_engine_leaves_the_collector_alone() -> None:
    gc.set_threshold(700, 10, 10)
    tuning = CollectorTuning(min_objects=2_000)
    assert not tuning.loaded(1_999)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)
    assert tuning.settles == 0


def test_a_loaded_engine_freezes_the_survivors_and_raises_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    survivor = [Node() for _ in range(100)]
    tuning = CollectorTuning(min_objects=10, young_threshold=5_000)
    assert tuning.loaded(10)
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == (5_000, 10, 10)
    # A higher threshold set by someone else is kept.
    gc.set_threshold(20_000, 10, 10)
    tuning.settle(10)
    assert gc.get_threshold() == (20_000, 10, 10)


def test_it_settles_again_only_once_the_engine_has_grown_enough() -> None:
    tuning = CollectorTuning(min_objects=100, growth=2.0)
    assert tuning.loaded(1_000)
    assert not tuning.grew(1_999)
    assert tuning.settles == 1
    assert tuning.grew(2_000)
    assert tuning.settles == 2
    assert tuning.settled_at == 2_000
    assert not tuning.grew(3_000)


def test_an_engine_that_starts_small_is_settled_when_it_reaches_the_minimum() -> None:
    tuning = CollectorTuning(min_objects=100)
    assert not tuning.loaded(10)
    assert not tuning.grew(99)
    assert tuning.grew(100)
    assert tuning.settles == 1


def test_garbage_among_frozen_objects_is_still_collected_at_the_next_settle() -> None:
    """Freezing must not leak: a cycle frozen while alive, dropped later, is freed by the next
    settle (it unfreezes before collecting), as the previous engine is after a rebuild."""
    tuning = CollectorTuning(min_objects=0)
    first, second = Node(), Node()
    first.other, second.other = second, first  # only the collector can free a cycle
    watch = weakref.ref(first)
    tuning.settle(1)
    assert gc.get_freeze_count() > 0
    del first, second
    gc.collect()  # a plain collection does not look at frozen objects
    assert watch() is not None
    tuning.settle(1)
    assert watch() is None


def test_disabled_tuning_never_touches_the_collector() -> None:
    gc.set_threshold(700, 10, 10)
    tuning = CollectorTuning(enabled=False, min_objects=0)
    assert not tuning.loaded(1_000_000)
    assert not tuning.grew(10_000_000)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)
