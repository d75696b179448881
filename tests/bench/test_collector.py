"""The load generator measures with its garbage collector paused, and collects what a phase left afterwards."""

from __future__ import annotations

import gc
import weakref

from bench.common import collector_paused


class _Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_no_collection_while_measuring_and_the_garbage_goes_afterwards() -> None:
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        with collector_paused():
            assert not gc.isenabled()
            assert gc.get_freeze_count() > 0  # what was there before is left out of collections
            left = weakref.ref(_Node())
            for _ in range(50_000):  # far past the youngest generation's threshold (700 allocations)
                _Node()
            assert left() is not None
            assert collections == []
        assert collections  # one full collection, after the phase
        assert left() is None
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.callbacks.remove(count)
