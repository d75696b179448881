"""A per-key "already running" guard, so a double click and the scheduler don't both call Sinch."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

__all__ = ["InFlight"]


class InFlight:
    """`with guard.claim(key) as claimed:` — claimed is False while another thread holds the key."""

    def __init__(self) -> None:
        self._keys: set[Hashable] = set()
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, key: Hashable) -> Iterator[bool]:
        with self._lock:
            if key in self._keys:
                claimed = False
            else:
                self._keys.add(key)
                claimed = True
        try:
            yield claimed
        finally:
            if claimed:
                with self._lock:
                    self._keys.discard(key)
