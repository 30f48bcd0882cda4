"""The training worker as an OS process, seen from the server: how it is started, how its exit reads.

Workers are ``python -m gpt.train ... --parent-pid <server pid> --nice 10``: they run at a lower
CPU priority than the server (a click waits for no training step), stop by themselves when the
server goes away, and never see the teacher key.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gpt.paths import ROOT
from gpt.runs.inputs import JobError
from gpt.runs.layout import WORKER_LOG, RunState
from gpt.runs.reader import pid_alive

DEFAULT_COMMAND = (sys.executable, "-m", "gpt.train")
WORKER_NICENESS = 10
# Never handed to a child process: the teacher key (Streamlit also copies secrets.toml's top-level
# values into the server's environment, so "teacher_key" is there too).
SECRET_ENV_NAMES = frozenset({"ATTN_EXPLORER_TEACHER_KEY", "teacher_key"})


def device_key(device: str) -> str:
    """The queue a run waits in: one per GPU ('cuda:0', 'cuda:1'), one for 'mps', one for 'cpu'."""
    if device == "cuda":
        return "cuda:0"
    if device in ("cpu", "mps") or re.fullmatch(r"cuda:\d+", device):
        return device
    raise JobError(f"unknown device “{device}”; choose cpu, mps or cuda:N")


def worker_device(key: str) -> str:
    """The worker's --device for a queue: each worker sees its own GPU as "cuda" (CUDA_VISIBLE_DEVICES)."""
    return "cuda" if key.startswith("cuda") else key


def child_env(device: str = "cpu") -> dict[str, str]:
    """The environment of a child process the server starts: no secrets, unbuffered output, and on a
    GPU queue ("cuda:N") only that GPU visible."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
    env["PYTHONUNBUFFERED"] = "1"
    if device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]  # the worker sees its GPU as cuda:0
    return env


def start_worker(command: list[str], worker_args: list[str], run_dir: Path, device: str) -> subprocess.Popen:
    """Start one worker writing ``run_dir``; its output goes to the run's worker.log. Raises OSError."""
    argv = [*command, *worker_args, "--parent-pid", str(os.getpid()), "--nice", str(WORKER_NICENESS)]
    with open(run_dir / WORKER_LOG, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=child_env(device),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C on the server reaches it via --parent-pid, cleanly
        )


def log_tail(path: Path, lines: int = 6, max_chars: int = 800) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = "\n".join(line for line in text.strip().splitlines()[-lines:])
    return tail[-max_chars:]


def explain_exit(returncode: int, stop_requested: bool, log: Path) -> tuple[RunState, str]:
    """The status of a worker that exited without writing a final one (crash, bad option, a kill)."""
    if stop_requested:
        # SIGTERM reached the worker before it could handle it (still importing torch).
        return RunState.STOPPED, "stopped while it was starting, before any training step"
    if returncode == -signal.SIGKILL:
        # Nobody here sent it: on Linux that is most often the kernel's out-of-memory killer.
        return RunState.FAILED, (
            "the training process was killed (SIGKILL), most often because the machine ran out of "
            "memory: start again with a smaller batch size, context or model"
        )
    tail = log_tail(log)
    return RunState.FAILED, f"the training process exited with code {returncode}" + (f": {tail}" if tail else "")


def is_training_process(pid: Any) -> bool:
    """Only signal a pid that is alive and is a training worker (pids get reused)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"gpt.train" in cmdline
