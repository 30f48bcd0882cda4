"""The job manager: training runs as separate OS processes, queued per device, stopped by SIGTERM.

One ``JobManager`` per server process. It never trains in its own process: each run is
``python -m gpt.train --out <run dir> ... --parent-pid <this pid>`` started with ``subprocess``,
so a run cannot slow down the pages, and it dies with the server (the worker watches its parent).

The run folders on disk are the truth (see the run folder contract): the manager only keeps
the processes it started and the queue of runs waiting for their device. A restarted server
therefore lists past runs from disk, with a 'running' run whose process is gone shown as
'interrupted' (``gpt.runs.true_state``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gpt.catalog import CHECKPOINT_SUBDIR, ROOT, is_valid_run_id
from gpt.config import ConfigError, GPTConfig
from gpt.run_layout import STATUS_JSON, WORKER_LOG, read_json, write_json_atomic
from gpt.runs import (
    RunInfo,
    list_runs,
    pid_alive,
    read_run,
)
from gpt.train import DEFAULTS, model_config

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # an uploaded corpus; bigger texts go through the command line
UPLOAD_NAME = "corpus.txt"  # an upload is saved under this name inside its run folder, never under the user's name
JOB_JSON = "job.json"  # what the manager launched (to start a never-started run again)
MAX_NAME_CHARS = 40
MAX_QUEUED = 6  # runs waiting at once: a class clicking "Start" 30 times must not queue a day of work
# Training runs at a lower CPU priority than the server: a click waits for no training step.
WORKER_NICENESS = 10
MAX_LR = 1.0  # the Train page's own maximum; 1e9 is a typo, not an experiment
DEFAULT_COMMAND = (sys.executable, "-m", "gpt.train")
# Never handed to a training process: the teacher key (Streamlit also copies secrets.toml's top-level
# values into the server's environment, so "teacher_key" is there too).
SECRET_ENV_NAMES = frozenset({"ATTN_EXPLORER_TEACHER_KEY", "teacher_key"})


class JobError(ValueError):
    """A request the job manager refuses; the message is meant for the user."""


@dataclass(frozen=True)
class TrainSettings:
    """The knobs of a run, one field per ``gpt.train`` option (``n_layer`` -> ``--n-layer``)."""

    # Defaults are the command line's (gpt.train.DEFAULTS), except where the app differs on purpose.
    tokenizer: str = DEFAULTS["tokenizer"]
    n_layer: int = DEFAULTS["n_layer"]
    n_head: int = DEFAULTS["n_head"]
    n_embd: int = DEFAULTS["n_embd"]
    block_size: int = DEFAULTS["block_size"]
    batch_size: int = DEFAULTS["batch_size"]
    max_iters: int = DEFAULTS["max_iters"]
    lr: float = DEFAULTS["lr"]
    min_lr: float = DEFAULTS["min_lr"]
    warmup_iters: int = DEFAULTS["warmup_iters"]
    grad_clip: float = DEFAULTS["grad_clip"]
    weight_decay: float = DEFAULTS["weight_decay"]
    dropout: float = DEFAULTS["dropout"]
    eval_interval: int = DEFAULTS["eval_interval"]
    eval_iters: int = 20  # fewer batches than the command line's: the live dashboard wants quick evaluations
    seed: int = DEFAULTS["seed"]
    probe: str = DEFAULTS["probe"]  # sentence whose attention is recorded
    sample_prompt: str = ""  # empty: the worker starts samples from the corpus's first line

    def to_argv(self) -> list[str]:
        argv: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == "":
                continue  # the worker's default
            argv += [f"--{f.name.replace('_', '-')}", str(value)]
        return argv

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Preset:
    """A starting point sized to a class period; every knob stays editable."""

    description: str
    settings: TrainSettings
    wants_gpu: bool = False


PRESETS: dict[str, Preset] = {
    "2-minute CPU demo": Preset(
        "Character-level Shakespeare, the classic CPU 'baby GPT' (4 layers, 4 heads, 128 dims): about two "
        "minutes on a laptop CPU, val loss near 1.9, and clear previous-token heads to look at afterwards.",
        TrainSettings(),
    ),
    "10-minute char model": Preset(
        "A bigger character model (6 layers, 6 heads, 192 dims, context 128) for a whole lesson on a CPU; "
        "a GPU does it in a minute or two. Its samples start to look like verse.",
        TrainSettings(
            n_layer=6,
            n_head=6,
            n_embd=192,
            block_size=128,
            batch_size=16,
            max_iters=2000,
            warmup_iters=200,
            dropout=0.1,
        ),
    ),
    "GPU BPE model": Preset(
        "GPT-2's BPE tokenizer (50,257 tokens) with 6 layers, 6 heads, 384 dims and a 256-token context "
        "(about 30 M parameters, most of them in the embedding table). Meant for a GPU: a few minutes there.",
        TrainSettings(
            tokenizer="gpt2",
            n_layer=6,
            n_head=6,
            n_embd=384,
            block_size=256,
            batch_size=32,
            max_iters=3000,
            lr=6e-4,
            min_lr=6e-5,
            warmup_iters=200,
            dropout=0.1,
            eval_interval=250,
            eval_iters=40,
        ),
        wants_gpu=True,
    ),
}


def validate_settings(settings: TrainSettings, vocab_size: int) -> GPTConfig:
    """The model config these settings build, or JobError saying which knob to change."""
    try:
        cfg = model_config(settings.to_dict(), vocab_size)
    except ConfigError as exc:
        raise JobError(str(exc)) from exc
    positive = ("batch_size", "max_iters", "eval_interval", "eval_iters")
    for name in positive:
        if getattr(settings, name) < 1:
            raise JobError(f"{name} must be at least 1")
    if not 0 < settings.lr <= MAX_LR:
        raise JobError(
            f"the learning rate (lr) must be greater than 0 and at most {MAX_LR:g}, got {settings.lr:g} "
            "(AdamW's usual values are 1e-4 to 1e-3; a bigger one makes the loss explode)"
        )
    for name in ("min_lr", "warmup_iters", "grad_clip", "weight_decay"):
        if getattr(settings, name) < 0:
            raise JobError(f"{name} must not be negative")
    if not settings.probe.strip():
        raise JobError("the probe sentence needs some text: its attention is recorded at each evaluation")
    if settings.tokenizer not in ("char", "gpt2"):
        raise JobError("the tokenizer must be char or gpt2")
    return cfg


def sanitize_run_name(name: str) -> str:
    """A user's run name -> the readable part of a run id. Path-like names are refused, not fixed,
    so that nobody believes '../other' wrote somewhere else."""
    name = (name or "").strip()
    if not name:
        return "run"
    if "/" in name or "\\" in name or ".." in name or "\x00" in name or name.startswith("~") or os.path.isabs(name):
        raise JobError(
            f"“{name[:60]}” is not a plain name: a run name cannot contain '/', '\\', '..' or start with '~'."
        )
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:MAX_NAME_CHARS].strip("-_")
    return slug or "run"


def device_key(device: str) -> str:
    """The queue a run waits in: one per GPU ('cuda:0', 'cuda:1'), one for 'mps', one for 'cpu'."""
    if device == "cuda":
        return "cuda:0"
    if device in ("cpu", "mps") or re.fullmatch(r"cuda:\d+", device):
        return device
    raise JobError(f"unknown device “{device}”; choose cpu, mps or cuda:N")


def _log_tail(path: Path, lines: int = 6, max_chars: int = 800) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = "\n".join(line for line in text.strip().splitlines()[-lines:])
    return tail[-max_chars:]


@dataclass
class Job:
    run_id: str
    path: Path
    device: str  # device key: cpu | mps | cuda:N
    worker_args: list[str]  # everything after the command, without --parent-pid
    queued_at: float = field(default_factory=time.time)
    proc: subprocess.Popen | None = None
    stop_requested: bool = False


@dataclass(frozen=True)
class QueueEntry:
    run_id: str
    device: str
    state: str  # "running" | "queued"
    position: int  # 0 for running runs, 1.. for waiting ones (per device)


class JobManager:
    """Starts, queues, stops and deletes runs in ``runs_dir``. Thread-safe; no UI code."""

    def __init__(
        self,
        runs_dir: Path,
        max_per_device: int = 1,
        command: tuple[str, ...] | list[str] = DEFAULT_COMMAND,
        background: bool = True,
        poll_interval: float = 0.5,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        if max_per_device < 1:
            raise JobError("at least one run per device must be allowed")
        self.runs_dir = Path(runs_dir)
        self.max_per_device = max_per_device
        self.max_queued = max_queued
        self.command = list(command)
        self._lock = threading.RLock()
        self._queue: list[Job] = []  # waiting, oldest first
        self._running: dict[str, Job] = {}
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            # Starts queued runs when their device frees up, even when no page is open.
            self._thread = threading.Thread(target=self._loop, args=(poll_interval,), daemon=True, name="job-manager")
            self._thread.start()

    # ------------------------------------------------------------------ paths and names

    def run_path(self, run_id: str) -> Path:
        """The folder of an existing run; refuses anything that could point outside runs_dir."""
        if not isinstance(run_id, str) or not is_valid_run_id(run_id):
            raise JobError(f"“{str(run_id)[:60]}” is not a valid run id")
        path = self.runs_dir / run_id
        if path.is_symlink():
            raise JobError(f"run “{run_id}” is a link, not a run folder; it is left alone")
        if not path.is_dir():
            raise JobError(f"there is no run “{run_id}”")
        if path.resolve().parent != self.runs_dir.resolve():
            raise JobError(f"run “{run_id}” is outside the runs folder")
        return path

    def _new_run_dir(self, name: str) -> tuple[str, Path]:
        """Create a fresh, uniquely named folder (mkdir is atomic: two launches never share one)."""
        slug = sanitize_run_name(name)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            run_id = f"{slug}-{stamp}" + (f"-{n}" if n > 1 else "")
            if not is_valid_run_id(run_id):
                raise JobError(f"cannot make a run id from “{name[:60]}”")
            path = self.runs_dir / run_id
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return run_id, path
        raise JobError("too many runs with this name in this second; try another name")

    # ------------------------------------------------------------------ launching

    def submit(
        self,
        name: str,
        settings: TrainSettings,
        device: str,
        corpus: str = "shakespeare",
        upload: bytes | None = None,
        extra_args: list[str] | None = None,
    ) -> str:
        """Create a run folder and queue the run; it starts as soon as its device is free.

        ``upload``: the bytes of a user's text file, checked and saved as ``corpus.txt`` inside
        the new run folder. Otherwise ``corpus`` names a bundled corpus (or a server-side path).
        """
        key = device_key(device)
        if upload is not None:
            check_upload(upload)
        self._check_queue_room()
        run_id, path = self._new_run_dir(name)
        data = str(path / UPLOAD_NAME) if upload is not None else str(corpus)
        worker_args = ["--out", str(path), "--data", data, *settings.to_argv(), *_device_args(key), *(extra_args or [])]
        try:
            if upload is not None:
                (path / UPLOAD_NAME).write_bytes(upload)
            job = {"run_id": run_id, "name": name, "device": key, "worker_args": worker_args}
            write_json_atomic(path / JOB_JSON, {**job, "settings": settings.to_dict()})
        except OSError as exc:
            shutil.rmtree(path, ignore_errors=True)  # nothing half-made stays behind (e.g. a full disk)
            raise JobError(f"the run folder could not be written: {exc}") from exc
        job = Job(run_id, path, key, worker_args)
        self._enqueue(job, iteration=0, max_iters=settings.max_iters)
        return run_id

    def resume(self, run_id: str) -> None:
        """Continue a stopped or interrupted run from its checkpoint (or start it again when it never
        got as far as a checkpoint). It queues like a new run."""
        path = self.run_path(run_id)
        self._wait_for_exit(run_id)
        with self._lock:
            if run_id in self._running or any(j.run_id == run_id for j in self._queue):
                raise JobError(f"run “{run_id}” is already running or queued")
            self._check_queue_room()
            info = read_run(path)
            if not info.resumable:
                raise JobError(
                    f"run “{run_id}” is {info.state}; only stopped or interrupted runs (or runs that filled "
                    "the disk) can be resumed"
                )
            job_meta = read_json(path / JOB_JSON) or {}
            key = str(job_meta.get("device") or device_key(info.device or "cpu"))
            if info.has_checkpoint:
                worker_args = ["--resume", str(path), *_device_args(key)]
            elif job_meta.get("worker_args"):
                worker_args = [str(a) for a in job_meta["worker_args"]]
            else:
                raise JobError(f"run “{run_id}” has no checkpoint to resume from")
            job = Job(run_id, path, key, worker_args)
            self._enqueue(job, iteration=info.iter, max_iters=info.max_iters)

    def _wait_for_exit(self, run_id: str, timeout: float = 15.0) -> None:
        """A worker that has written its final status may still be closing files: give it a moment."""
        with self._lock:
            job = self._running.get(run_id)
        if job is None or job.proc is None or read_run(job.path).state in ("running", "queued"):
            return
        try:
            job.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return
        self.poll()

    def _check_queue_room(self) -> None:
        with self._lock:
            if len(self._queue) >= self.max_queued:
                raise JobError(
                    f"{len(self._queue)} runs are already waiting, the most this server queues; "
                    "stop one of them or wait until one starts"
                )

    def _enqueue(self, job: Job, iteration: int, max_iters: int) -> None:
        with self._lock:
            self._queue.append(job)
            waiting = sum(1 for j in self._queue if j.device == job.device)
            self._write_status(
                job, "queued", f"waiting for {job.device} (position {waiting} in its queue)", iteration, max_iters
            )
            self.poll()

    def _write_status(
        self, job: Job, state: str, message: str, iteration: int | None = None, max_iters: int | None = None
    ) -> None:
        """The manager's word on a run it holds; the step and length stay as they were unless given."""
        previous = read_json(job.path / STATUS_JSON) or {}
        status = {
            "state": state,
            "message": message,
            "iter": int(previous.get("iter", 0) if iteration is None else iteration),
            "max_iters": int(previous.get("max_iters", 0) if max_iters is None else max_iters),
            "pid": os.getpid(),  # for a queued run: the server that holds the queue
            "updated_at": time.time(),
            "device": job.device,
            "created_at": previous.get("created_at", time.time()),
        }
        write_json_atomic(job.path / STATUS_JSON, status)

    def _start(self, job: Job) -> None:
        argv = [*self.command, *job.worker_args, "--parent-pid", str(os.getpid()), "--nice", str(WORKER_NICENESS)]
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
        env["PYTHONUNBUFFERED"] = "1"
        if job.device.startswith("cuda:"):
            env["CUDA_VISIBLE_DEVICES"] = job.device.split(":", 1)[1]  # the worker sees its GPU as cuda:0
        log = open(job.path / WORKER_LOG, "ab")  # noqa: SIM115 - the child keeps its own copy
        try:
            job.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on the server reaches it via --parent-pid, cleanly
            )
        except OSError as exc:
            self._write_status(job, "failed", f"could not start the training process: {exc}")
            return
        finally:
            log.close()
        self._running[job.run_id] = job
        if (read_json(job.path / STATUS_JSON) or {}).get("state") == "queued":  # until the worker says "running"
            self._write_status(job, "queued", "starting: the training process is loading PyTorch and the corpus")

    # ------------------------------------------------------------------ the scheduler

    def poll(self) -> None:
        """Reap finished workers and start queued runs whose device has a free slot."""
        with self._lock:
            for run_id, job in list(self._running.items()):
                assert job.proc is not None
                rc = job.proc.poll()
                if rc is None:
                    continue
                del self._running[run_id]
                self._after_exit(job, rc)
            busy: dict[str, int] = {}
            for job in self._running.values():
                busy[job.device] = busy.get(job.device, 0) + 1
            for job in list(self._queue):
                if busy.get(job.device, 0) >= self.max_per_device:
                    continue
                self._queue.remove(job)
                busy[job.device] = busy.get(job.device, 0) + 1
                self._start(job)
            self._renumber_queue()

    def _renumber_queue(self) -> None:
        position: dict[str, int] = {}
        for job in self._queue:
            position[job.device] = position.get(job.device, 0) + 1
            status = read_json(job.path / STATUS_JSON) or {}
            message = f"waiting for {job.device} (position {position[job.device]} in its queue)"
            if status.get("message") != message:
                self._write_status(job, "queued", message)

    def _after_exit(self, job: Job, returncode: int) -> None:
        """A worker that exited without a final status (crash, bad option, a kill) gets one."""
        if (read_json(job.path / STATUS_JSON) or {}).get("state") not in ("running", "queued"):
            return  # the worker said how it ended
        if job.stop_requested:
            # SIGTERM reached the worker before it could handle it (still importing torch).
            self._write_status(job, "stopped", "stopped while it was starting, before any training step")
        elif returncode == -signal.SIGKILL:
            # Nobody here sent it: on Linux that is most often the kernel's out-of-memory killer.
            message = (
                "the training process was killed (SIGKILL), most often because the machine ran out of "
                "memory: start again with a smaller batch size, context or model"
            )
            self._write_status(job, "failed", message)
        else:
            tail = _log_tail(job.path / WORKER_LOG)
            message = f"the training process exited with code {returncode}" + (f": {tail}" if tail else "")
            self._write_status(job, "failed", message)

    def _loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the scheduler thread must survive a bad folder
                continue

    # ------------------------------------------------------------------ stop, delete, list

    def stop(self, run_id: str) -> str:
        """Stop a run: a queued run is taken off the queue; a running one gets SIGTERM (the worker
        finishes its step, saves a checkpoint and writes 'stopped')."""
        path = self.run_path(run_id)
        with self._lock:
            for job in self._queue:
                if job.run_id == run_id:
                    self._queue.remove(job)
                    self._write_status(job, "stopped", "taken off the queue before it started")
                    self._renumber_queue()
                    return "The run was waiting in the queue; it has been taken off."
            job = self._running.get(run_id)
            finished = read_run(path).state not in ("running", "queued")  # it may still be exiting
            if not finished and job is not None and job.proc is not None and job.proc.poll() is None:
                job.stop_requested = True
                job.proc.send_signal(signal.SIGTERM)
                return "Stop requested: the run saves a checkpoint and stops after its current step."
        info = read_run(path)
        pid = info.status.get("pid")
        if info.state == "running" and _is_training_process(pid):
            os.kill(pid, signal.SIGTERM)  # started by an earlier manager in this server
            return "Stop requested: the run saves a checkpoint and stops after its current step."
        raise JobError(f"run “{run_id}” is not running (it is {info.state})")

    def delete(self, run_id: str) -> None:
        """Delete a run folder for good. Active runs are refused (stop them first)."""
        path = self.run_path(run_id)
        self._wait_for_exit(run_id)
        with self._lock:
            if run_id in self._running or any(j.run_id == run_id for j in self._queue):
                raise JobError(f"run “{run_id}” is running or queued; stop it before deleting it")
            info = read_run(path)
            if info.active:
                raise JobError(f"run “{run_id}” is {info.state}; stop it before deleting it")
            # Rename first (one atomic step, to a name no listing shows), then remove.
            trash = self.runs_dir / f".deleting-{run_id}-{os.getpid()}"
            os.replace(path, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def list_runs(self) -> list[RunInfo]:
        self.poll()
        return list_runs(self.runs_dir)

    def get_run(self, run_id: str) -> RunInfo:
        self.poll()
        return read_run(self.run_path(run_id))

    def queue(self) -> list[QueueEntry]:
        """Runs this manager is running or holding, running first."""
        self.poll()
        with self._lock:
            entries = [QueueEntry(j.run_id, j.device, "running", 0) for j in self._running.values()]
            position: dict[str, int] = {}
            for job in self._queue:
                position[job.device] = position.get(job.device, 0) + 1
                entries.append(QueueEntry(job.run_id, job.device, "queued", position[job.device]))
        return entries

    def checkpoint_dir(self, run_id: str) -> Path:
        return self.run_path(run_id) / CHECKPOINT_SUBDIR

    def close(self, stop_runs: bool = True, timeout: float = 30.0) -> None:
        """Stop the scheduler thread; with ``stop_runs``, SIGTERM every worker and wait for it."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not stop_runs:
            return
        with self._lock:
            self._queue.clear()
            jobs = list(self._running.values())
        for job in jobs:
            if job.proc is not None and job.proc.poll() is None:
                job.proc.send_signal(signal.SIGTERM)
        deadline = time.time() + timeout
        for job in jobs:
            if job.proc is None:
                continue
            try:
                job.proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                job.proc.kill()
                job.proc.wait()
        self.poll()


def _device_args(key: str) -> list[str]:
    return ["--device", "cuda" if key.startswith("cuda") else key]


def _is_training_process(pid: Any) -> bool:
    """Only signal a pid that is alive and is a training worker (pids get reused)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"gpt.train" in cmdline


def check_upload(raw: bytes) -> str:
    """An uploaded corpus must be small enough and UTF-8 text; returns the text, or raises JobError."""
    from gpt.data import DataError, decode_corpus

    if len(raw) > MAX_UPLOAD_BYTES:
        raise JobError(
            f"the file is {len(raw) / 1e6:.1f} MB; uploads are limited to {MAX_UPLOAD_BYTES / 1e6:.0f} MB "
            "(train on a bigger text from the command line: python -m gpt.train --data FILE)"
        )
    try:
        return decode_corpus(raw, "the uploaded file")
    except DataError as exc:
        raise JobError(str(exc)) from exc
