"""A thread-safe least-recently-used cache bounded by the bytes it holds, not by how many entries.

Pure Python (no Streamlit): the server keeps one per kind of object in ``ui/models.py``, at
process level, so no client can empty it (``st.cache_resource`` obeys any client's
``clear_cache``) and one long input counts for what it really weighs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _InFlight:
    """One key being computed: later callers for the same key wait for it instead of computing again."""

    def __init__(self) -> None:
        self.done = threading.Event()


class ByteBudgetCache(Generic[K, V]):
    """Keeps the most recently used values while their sizes add up to at most ``budget_bytes``.

    ``size_of`` measures a value in bytes. A value bigger than the whole budget is never stored.
    ``on_evict(key)`` runs (outside the lock) for every entry pushed out to make room.
    """

    def __init__(
        self,
        budget_bytes: int,
        size_of: Callable[[V], int],
        on_evict: Callable[[K], None] | None = None,
    ) -> None:
        if budget_bytes < 1:
            raise ValueError(f"a cache budget must be at least 1 byte, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._size_of = size_of
        self._on_evict = on_evict
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()  # oldest use first
        self._bytes = 0
        self._in_flight: dict[K, _InFlight] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held now (never more than ``budget_bytes``)."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def keys(self) -> list[K]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, key: K) -> V | None:
        """The value for ``key`` (marking it as just used), or None."""
        with self._lock:
            return self._touch(key)

    def put(self, key: K, value: V) -> bool:
        """Store ``value``, evicting the least recently used entries to make room.

        Returns False, changing nothing, when the value alone is bigger than the budget.
        """
        size = self._size_of(value)
        if size > self.budget_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            evicted = []
            while self._entries and self._bytes + size > self.budget_bytes:
                old_key, (_, old_size) = self._entries.popitem(last=False)
                self._bytes -= old_size
                evicted.append(old_key)
            self._entries[key] = (value, size)
            self._bytes += size
        self._notify(evicted)
        return True

    def get_or_create(self, key: K, create: Callable[[], V]) -> V:
        """The cached value, or ``create()``'s (stored if it fits); one computation per key at a time."""
        while True:
            with self._lock:
                value = self._touch(key)
                if value is not None:
                    return value
                waiting = self._in_flight.get(key)
                if waiting is None:
                    mine = self._in_flight[key] = _InFlight()
                    break
            waiting.done.wait()  # then look again: stored, or (failed / too big) compute it ourselves
        try:
            value = create()
            self.put(key, value)
            return value
        finally:
            with self._lock:
                del self._in_flight[key]
            mine.done.set()

    def discard(self, keep: Callable[[K], bool]) -> None:
        """Drop every entry whose key ``keep`` rejects."""
        with self._lock:
            for key in [k for k in self._entries if not keep(k)]:
                self._bytes -= self._entries.pop(key)[1]

    def _touch(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def _notify(self, evicted: list[K]) -> None:
        if self._on_evict is not None:
            for key in evicted:
                self._on_evict(key)
