"""Classroom mode in the app: the sidebar's teacher key box and the one gate every guarded action uses.

The rules live in ``ui/classroom.py``. A browser tab that typed the right key is remembered as
unlocked in its session; the key itself is neither kept in the session nor shown or logged.
Wrong keys are slowed down by one ``KeyGuard`` of the server process. Students see no paths of
the server's folders: ``shown_path`` and ``shown_error`` give them neutral names instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from gpt import gpt2_dir, runs_dir
from ui.classroom import KEY_ENV, SECRETS_KEY, KeyGuard, configured_key, is_classroom, key_matches, wait_text
from ui.text import md_code, md_escape, without_paths

RUN_ACTIONS = "Starting, stopping, resuming and deleting runs"
GPT2_DOWNLOAD = "Downloading GPT-2's weights"

UNLOCKED = "teacher_unlocked"  # session key: this tab typed the right key
KEY_INPUT = "teacher_key_input"  # widget key of the password box (emptied as soon as it is checked)
KEY_NOTE = "teacher_key_note"  # session key: what the last check says (a wrong key, or how long to wait)
GUARD_ID = "teacher_guard_id"  # session key: this tab's name in GUARD (a reload is a new tab, hence the server limit)
WRONG_KEY_TEXT = "That is not the teacher key."

GUARD = KeyGuard()  # one per server process, shared by every session

RUNS_FOLDER = "the server's runs folder"
GPT2_FOLDER = "the server's GPT-2 folder"
APP_FOLDER = "the app's folder"
HOME_FOLDER = "the server's home folder"


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


def _guard_id() -> str:
    if GUARD_ID not in st.session_state:
        st.session_state[GUARD_ID] = uuid.uuid4().hex
    return st.session_state[GUARD_ID]


def _check_key() -> None:
    given = str(st.session_state.get(KEY_INPUT) or "")
    st.session_state[KEY_INPUT] = ""  # never kept, never sent back to the browser
    if not given.strip():
        st.session_state[KEY_NOTE] = ""
        return
    wait = GUARD.wait_s(_guard_id())
    if wait > 0:  # not even compared: a right key typed now is refused as well
        st.session_state[KEY_NOTE] = wait_text(wait)
        return
    expected = teacher_key()
    unlocked = expected is not None and key_matches(given, expected)
    GUARD.record(_guard_id(), unlocked)
    st.session_state[UNLOCKED] = unlocked
    wait = GUARD.wait_s(_guard_id())
    note = "" if unlocked else WRONG_KEY_TEXT
    st.session_state[KEY_NOTE] = f"{note} {wait_text(wait)}" if note and wait > 0 else note


def _lock() -> None:
    st.session_state[UNLOCKED] = False
    st.session_state[KEY_NOTE] = ""


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
    if st.session_state.get(KEY_NOTE):
        st.sidebar.error(st.session_state[KEY_NOTE])


def sees_server_paths() -> bool:
    """The local user and the teacher see the server's folders; students get neutral names."""
    return is_teacher()


def server_folders() -> dict[Path, str]:
    """The server's folders that a path in a message may start with, and what students read instead."""
    app = Path(__file__).resolve().parent.parent
    return {runs_dir(): RUNS_FOLDER, gpt2_dir(): GPT2_FOLDER, app: APP_FOLDER, Path.home(): HOME_FOLDER}


def shown_path(path: str | Path, neutral: str) -> str:
    """``path`` for Markdown: as code for those who may see it, else the neutral words ``neutral``."""
    return md_code(path) if sees_server_paths() else neutral


def shown_text(text: object) -> str:
    """Text from outside this code (a worker, a file, a link) with the server's folders hidden from students."""
    return str(text) if sees_server_paths() else without_paths(str(text), server_folders())


def shown_error(error: object) -> str:
    """An exception's or a run's message for Markdown: escaped, and without server paths for students."""
    return md_escape(shown_text(error))
