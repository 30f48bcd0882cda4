"""How the server's child processes start: the training workers and the speed probe alike.

Both get the same environment (``child_env``: no teacher key, unbuffered output, on a GPU queue
only that GPU) and run at the same lower CPU priority (``CHILD_NICENESS``), so a click on a page
never waits for a training step. One home, so the two cannot drift apart.
"""

from __future__ import annotations

import os

CHILD_NICENESS = 10
# Never handed to a child process: the teacher key (Streamlit also copies secrets.toml's top-level
# values into the server's environment, so "teacher_key" is there too).
SECRET_ENV_NAMES = frozenset({"ATTN_EXPLORER_TEACHER_KEY", "teacher_key"})


def child_env(device: str = "cpu") -> dict[str, str]:
    """The environment of a child process the server starts: no secrets, unbuffered output, and on a
    GPU queue ("cuda:N") only that GPU visible (the child sees it as cuda:0)."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
    env["PYTHONUNBUFFERED"] = "1"
    if device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    return env
