"""A small thread-safe least-recently-used cache for decoded, immutable data (traces, rendered charts)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most ``maxsize`` values; the least recently used one is dropped first (``maxsize=0``: no caching).

    Keys must name everything the value depends on (e.g. a session id and its stored version), so entries
    never need invalidating: a changed record has a new key and its old entry ages out.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """The cached value of ``key`` (counted as a hit), else ``None`` (not counted: a caller that then
        creates the value counts the miss with :meth:`get_or_create`)."""
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]

    def get_or_create(self, key: Hashable, create: Callable[[], V]) -> V:
        """The cached value of ``key``, else ``create()`` (called outside the lock) stored under ``key``."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
        value = create()
        if self.maxsize:
            with self._lock:
                self._data[key] = value
                self._data.move_to_end(key)
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
