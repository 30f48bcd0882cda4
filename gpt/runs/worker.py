"""The training worker as an OS process, seen from the server: how it is started, how its exit reads.

Workers are ``python -m gpt.train ... --parent-pid <server pid> --nice 10``: they run at a lower
CPU priority than the server (a click waits for no training step), stop by themselves when the
server goes away, and never see the teacher key.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

from gpt.checkpoint import CheckpointError, read_meta, usable_checkpoint_dir
from gpt.paths import CHECKPOINT_DIR, ROOT
from gpt.runs.inputs import JobError
from gpt.runs.layout import CAUSE_KILLED, WORKER_LOG, RunState, open_regular
from gpt.runs.reader import pid_alive
from gpt.train.process import CHILD_NICENESS, child_env

DEFAULT_COMMAND = (sys.executable, "-m", "gpt.train")
WORKER_NICENESS = CHILD_NICENESS  # the same as the speed probe's (gpt/train/process.py)


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


def start_worker(command: list[str], worker_args: list[str], run_dir: Path, device: str) -> subprocess.Popen:
    """Start one worker writing ``run_dir``; its output goes to the run's worker.log. Raises OSError."""
    argv = [*command, *worker_args, "--parent-pid", str(os.getpid()), "--nice", str(WORKER_NICENESS)]
    with _open_log(run_dir / WORKER_LOG) as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=child_env(device),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C on the server reaches it via --parent-pid, cleanly
        )


def _open_log(path: Path) -> BinaryIO:
    """worker.log for appending; a named pipe or link put in its place is refused (OSError) rather
    than blocking the server until something reads the pipe."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab")


def log_tail(path: Path, lines: int = 6, max_chars: int = 800) -> str:
    try:
        with open_regular(path) as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 64 * 1024))  # the end is what explains a crash
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    tail = "\n".join(line for line in text.strip().splitlines()[-lines:])
    return tail[-max_chars:]


KILLED = (
    "the training process was killed (SIGKILL), most often because the machine ran out of "
    "memory: start again with a smaller batch size, context or model"
)


def saved_step(run_dir: Path) -> int | None:
    """The step of the run's checkpoint, or None when it has no readable one."""
    folder = usable_checkpoint_dir(run_dir / CHECKPOINT_DIR)
    if folder is None:
        return None
    try:
        step = read_meta(folder).get("iter")
    except CheckpointError:
        return None
    return step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None


def explain_exit(returncode: int, stop_requested: bool, run_dir: Path) -> tuple[RunState, str, str | None]:
    """(state, message, cause) of a worker that exited without writing a final status (crash, bad
    option, a kill). A killed worker with an intact checkpoint is resumable: ``failed`` with cause
    ``killed`` (``RunInfo.resumable``), since a kill never touches the previous checkpoint."""
    if stop_requested:
        # SIGTERM reached the worker before it could handle it (still importing torch).
        return RunState.STOPPED, "stopped while it was starting, before any training step", None
    if returncode == -signal.SIGKILL:
        # Nobody here sent it: on Linux that is most often the kernel's out-of-memory killer.
        step = saved_step(run_dir)
        if step is None:
            return RunState.FAILED, KILLED, None
        resume = (
            f". Its checkpoint at step {step:,} is intact: Resume continues from it (if something else used the memory)"
        )
        return RunState.FAILED, KILLED + resume, CAUSE_KILLED
    tail = log_tail(run_dir / WORKER_LOG)
    message = f"the training process exited with code {returncode}" + (f": {tail}" if tail else "")
    return RunState.FAILED, message, None


def is_training_process(pid: Any) -> bool:
    """Only signal a pid that is alive and is a training worker (pids get reused)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"gpt.train" in cmdline
