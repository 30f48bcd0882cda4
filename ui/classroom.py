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
from collections.abc import Mapping
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
