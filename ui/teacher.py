"""Classroom mode in the app: the sidebar's teacher key box and the one gate every guarded action uses.

The rules live in ``ui/classroom.py``. A browser tab that typed the right key is remembered as
unlocked in its session; the key itself is neither kept in the session nor shown or logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from ui.classroom import KEY_ENV, SECRETS_KEY, configured_key, is_classroom, key_matches

RUN_ACTIONS = "Starting, stopping, resuming and deleting runs"
GPT2_DOWNLOAD = "Downloading GPT-2's weights"

UNLOCKED = "teacher_unlocked"  # session key: this tab typed the right key
WRONG_KEY = "teacher_wrong_key"  # session key: the last key typed was wrong
KEY_INPUT = "teacher_key_input"  # widget key of the password box (emptied as soon as it is checked)


def classroom_mode() -> bool:
    return is_classroom(st.get_option("server.address"), os.environ)


def _secrets() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except (OSError, ValueError):  # no secrets.toml (Streamlit raises), or one that cannot be read or parsed
        return {}


def teacher_key() -> str | None:
    return configured_key(_secrets(), os.environ)


def is_teacher() -> bool:
    """Whether this browser tab may start, stop, resume and delete runs and download GPT-2."""
    if not classroom_mode():
        return True
    return bool(st.session_state.get(UNLOCKED)) and teacher_key() is not None


def require_teacher(action: str) -> bool:
    """True when this tab may do ``action``; otherwise say why, where this is called, and return False.

    Callers draw their button disabled when this is False and check it again on a click.
    """
    if is_teacher():
        return True
    if teacher_key() is None:
        st.warning(
            f"{action} is switched off: this server is open to the network and no teacher key is set. "
            f'Teacher: put `{SECRETS_KEY} = "…"` into `.streamlit/secrets.toml`, or set the environment '
            f"variable `{KEY_ENV}`, and restart the app."
        )
    else:
        st.info(
            f"{action} is for the teacher in classroom mode. Ask your teacher, or enter the teacher key in the sidebar."
        )
    return False


def _check_key() -> None:
    given = str(st.session_state.get(KEY_INPUT) or "")
    st.session_state[KEY_INPUT] = ""  # never kept, never sent back to the browser
    expected = teacher_key()
    unlocked = expected is not None and key_matches(given, expected)
    st.session_state[UNLOCKED] = unlocked
    st.session_state[WRONG_KEY] = bool(given.strip()) and not unlocked


def _lock() -> None:
    st.session_state[UNLOCKED] = False
    st.session_state[WRONG_KEY] = False


def key_box() -> None:
    """In classroom mode with a key set: the sidebar box that unlocks this tab, or a Lock button.

    Pages with guarded actions call it once, outside fragments (they cannot draw into the sidebar).
    """
    if not classroom_mode() or teacher_key() is None:
        return  # nothing to unlock here; require_teacher tells a teacher how to set a key
    if is_teacher():
        st.sidebar.caption("Teacher mode is on in this browser tab.")
        st.sidebar.button("Lock teacher mode", icon=":material/lock:", key="teacher_lock", on_click=_lock)
        return
    st.sidebar.text_input(
        "Teacher key",
        type="password",
        key=KEY_INPUT,
        on_change=_check_key,
        help="Classroom mode: the teacher's key unlocks starting, stopping and deleting runs in this browser tab.",
    )
    if st.session_state.get(WRONG_KEY):
        st.sidebar.error("That is not the teacher key.")
