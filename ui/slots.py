"""Compute slots that serve requests in the order they arrived.

``threading.Semaphore`` wakes a waiter on release, but the releasing thread can take the slot
straight back before the waiter runs. A generation that releases its slot between steps and
asks again at once would then starve a short trace waiting behind it; here it queues behind it.
"""

from __future__ import annotations

import threading
from collections import deque


class FairSlots:
    """At most ``n`` holders at once; waiters get a slot first come, first served. A context manager."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"need at least one slot, got {n}")
        self.n = n
        self._free = n
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    @property
    def waiting(self) -> int:
        """How many callers are queued for a slot now."""
        with self._cond:
            return len(self._queue)

    def acquire(self, blocking: bool = True) -> bool:
        """Take a slot; with ``blocking=False`` only if one is free and nobody is queued before us."""
        with self._cond:
            if self._free > 0 and not self._queue:
                self._free -= 1
                return True
            if not blocking:
                return False
            ticket = object()
            self._queue.append(ticket)
            try:
                self._cond.wait_for(lambda: self._queue[0] is ticket and self._free > 0)
            except BaseException:  # interrupted while queued: leave the queue so the next caller is not stuck
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._free -= 1
            self._cond.notify_all()  # the next in line may find a slot free too
            return True

    def release(self) -> None:
        with self._cond:
            if self._free >= self.n:
                raise ValueError("released a slot that was not taken")
            self._free += 1
            self._cond.notify_all()

    def __enter__(self) -> FairSlots:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
