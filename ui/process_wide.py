"""What exists once per server process and must survive any cache clear: the job manager, the
device list, the speed probes' results.

``st.cache_resource`` is a cache, and caches get cleared: by ``st.cache_resource.clear()``, and
in Streamlit 1.67 by any client that sends a ``clear_cache`` message on its websocket (switched
off for clients in ``ui/server_guards.py``, but nothing here relies on that). A cleared job
manager came back empty while the old one, still alive, kept starting its queued runs next to
the new one's: the one-run-per-device limit broke. Plain module-level objects behind a lock
cannot be cleared by anybody.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def once_per_process(factory: Callable[P, T]) -> Callable[P, T]:
    """``factory(*args)`` is called once per distinct (hashable) args in this process, ever.

    Unlike ``functools.cache``, two sessions asking at the same moment cannot both build one
    (two job managers over one runs folder would each start runs).
    """
    made: dict[tuple, T] = {}
    lock = threading.Lock()

    @functools.wraps(factory)
    def get(*args: P.args, **kwargs: P.kwargs) -> T:
        key = (args, tuple(sorted(kwargs.items())))
        with lock:
            if key not in made:
                made[key] = factory(*args, **kwargs)
            return made[key]

    return get


class BoundedStore(Generic[K, V]):
    """A thread-safe dict of at most ``max_entries`` values; the least recently used goes first."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._max_entries:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
