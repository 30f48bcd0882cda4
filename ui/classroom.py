"""Classroom mode's rules as plain functions (no Streamlit here, so they are unit-tested directly).

A server only this computer can reach (localhost) trusts its one user. A server that listens on
the network (``--server.address 0.0.0.0``) is a classroom: starting, stopping, resuming and
deleting runs and downloading GPT-2 need the teacher key; everything else stays open, read-only.
``ui/teacher.py`` applies these rules in the app.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

KEY_ENV = "ATTN_EXPLORER_TEACHER_KEY"  # the environment variable that holds the teacher key
SECRETS_KEY = "teacher_key"  # the same key in .streamlit/secrets.toml
FORCE_ENV = "ATTN_EXPLORER_CLASSROOM"  # =1: classroom mode on localhost too (behind a tunnel or proxy)
TRUE_WORDS = {"1", "true", "yes", "on"}


def is_local_address(address: str | None) -> bool:
    """True when a server bound to ``address`` is reachable from this computer only."""
    if not address:
        return False  # unset: Streamlit listens on every network interface
    host = address.strip().lower().removeprefix("[").removesuffix("]")  # "[::1]" is written like that too
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1
    except ValueError:
        return False  # a host name, which may resolve to a network interface


def is_classroom(address: str | None, environ: Mapping[str, str]) -> bool:
    """Classroom mode: the server is open to the network, or the teacher switched it on by hand."""
    forced = environ.get(FORCE_ENV, "").strip().lower() in TRUE_WORDS
    return forced or not is_local_address(address)


def _key_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None  # a TOML table, list or boolean is not a key
    text = str(value).strip()
    return text or None


def configured_key(secrets: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """The teacher key: the environment variable first, then secrets.toml; blank counts as none."""
    return _key_text(environ.get(KEY_ENV)) or _key_text(secrets.get(SECRETS_KEY))


def key_matches(given: str, expected: str) -> bool:
    """Whether a typed key is the teacher key, compared in constant time (no timing hints).

    Both are hashed first, so the comparison takes as long for a key of another length too.
    """
    if not expected:
        return False
    given_digest = hashlib.sha256(given.strip().encode("utf-8")).digest()
    expected_digest = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(given_digest, expected_digest)


class KeyGuard:
    """Slows down guessing the teacher key: per browser session and for the whole server.

    After ``free_tries`` wrong keys a session waits ``first_wait_s`` before its next key is even
    checked, twice as long after each further wrong key (at most ``max_wait_s``). When the server
    has seen ``server_limit`` wrong keys within ``window_s`` (from any number of sessions, so a new
    tab does not start afresh), every session waits until the oldest of them is older than that.
    The state is a plain object of the server process: no client can clear it, as it could a cache.
    ``clock`` is injected so tests need not sleep.
    """

    def __init__(
        self,
        free_tries: int = 3,
        first_wait_s: float = 5.0,
        max_wait_s: float = 300.0,
        server_limit: int = 20,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_tries, self.first_wait_s, self.max_wait_s = free_tries, first_wait_s, max_wait_s
        self.server_limit, self.window_s, self.clock = server_limit, window_s, clock
        self._lock = threading.Lock()
        self._wrong: dict[str, tuple[int, float]] = {}  # session -> (wrong keys in a row, blocked until)
        self._recent: deque[float] = deque()  # when the server's recent wrong keys came

    def wait_s(self, session: str) -> float:
        """Seconds before ``session`` may have a key checked (0: now)."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            mine = self._wrong.get(session, (0, now))[1] - now
            server = self._recent[0] + self.window_s - now if len(self._recent) >= self.server_limit else 0.0
            return max(0.0, mine, server)

    def record(self, session: str, right: bool) -> None:
        """Count one checked key: a right one clears the session's count, a wrong one adds to both."""
        with self._lock:
            now = self.clock()
            if right:
                self._wrong.pop(session, None)
                return
            count = self._wrong.get(session, (0, now))[0] + 1
            beyond = count - self.free_tries  # 0 for the last free wrong key: the first wait
            wait = min(self.max_wait_s, self.first_wait_s * 2 ** min(beyond, 30)) if beyond >= 0 else 0.0
            self._wrong[session] = (count, now + wait)
            self._recent.append(now)

    def _forget_old(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - self.window_s:
            self._recent.popleft()
        if len(self._wrong) > 10_000:  # sessions that left long ago: keep the table small
            self._wrong = {s: v for s, v in self._wrong.items() if v[1] > now - self.max_wait_s}


def wait_text(seconds: float) -> str:
    return f"Too many wrong keys; try again in {math.ceil(seconds)} s."
