"""Give freed tensor memory back to the operating system (glibc on Linux).

Every browser session runs its script in a thread of its own. glibc gives threads their own
memory arenas and, once a large block has been freed, raises its mmap threshold, so later large
blocks (traces, figures) come from those arenas and stay in the process after they are freed:
under ``bench/hostile.py`` the server reached 11.7 GB with a 2 GB trace budget. A fixed
threshold sends every block of at least 1 MB to mmap, which returns it to the system when it is
freed, and fewer arenas bound what the small blocks can hold.
"""

from __future__ import annotations

import ctypes
import sys
import threading

M_MMAP_THRESHOLD = -3  # mallopt parameters from glibc's malloc.h
M_ARENA_MAX = -8
_done = threading.Event()


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): its allocator behaves differently anyway
        return None


def release_large_blocks_eagerly(threshold_bytes: int = 1 << 20, arenas: int = 2) -> bool:
    """Once per process: large blocks from mmap, at most ``arenas`` arenas. False where not glibc."""
    if _done.is_set():
        return True
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, threshold_bytes) == 1 and libc.mallopt(M_ARENA_MAX, arenas) == 1
    _done.set()
    return ok


def trim() -> None:
    """Hand free memory at the top of every arena back to the system (after a cache evicts)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
