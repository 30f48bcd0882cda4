"""How the server's child processes start: the training workers and the speed probe alike.

Both get the same environment (``child_env``: no teacher key, unbuffered output, on a GPU queue
only that GPU) and run at the same lower CPU priority (``CHILD_NICENESS``), so a click on a page
never waits for a training step. One home, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

CHILD_NICENESS = 10
# Training processes keep their OpenMP threads spinning between operations instead of putting them to
# sleep: the CPU baby GPT on 2 threads trained at 25.1k tokens/s in both rounds against 17.8k-22.0k with
# the default policy (bench/train.py, AMD EPYC). Only training: a server's idle threads would spin on
# a core for nothing. A value the user set (e.g. PASSIVE on a shared machine) is kept.
TRAINING_OMP_ENV = {"OMP_WAIT_POLICY": "ACTIVE"}
# Never handed to a child process: the teacher key (Streamlit also copies secrets.toml's top-level
# values into the server's environment, so "teacher_key" is there too).
SECRET_ENV_NAMES = frozenset({"ATTN_EXPLORER_TEACHER_KEY", "teacher_key"})


def child_env(device: str = "cpu") -> dict[str, str]:
    """The environment of a child process the server starts: no secrets, unbuffered output, the
    training processes' OpenMP policy, and on a GPU queue ("cuda:N") only that GPU visible (the child
    sees it as cuda:0)."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in TRAINING_OMP_ENV.items():
        env.setdefault(name, value)
    if device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    return env


def needs_training_env(environ: Mapping[str, str]) -> bool:
    """Whether a training process started without ``TRAINING_OMP_ENV`` (typed at a shell, not started
    by the app) should start again with it: OpenMP reads its wait policy once, when torch loads."""
    return os.name == "posix" and any(name not in environ for name in TRAINING_OMP_ENV)
