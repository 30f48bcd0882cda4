"""The job manager: training runs as separate OS processes, queued per device, stopped by SIGTERM.

One ``JobManager`` per server process. It never trains in its own process: each run is
``python -m gpt.train --out <run dir> ... --parent-pid <this pid>`` started with ``subprocess``,
so a run cannot slow down the pages, and it dies with the server (the worker watches its parent).

The run folders on disk are the truth (docs/run-folder.md): the manager only keeps the processes
it started and the queue of runs waiting for their device, so a restarted server lists past runs
from disk ('running' with its process gone: 'interrupted', ``gpt.runs.reader.true_state``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpt.checkpoint import tidy_checkpoint_folder
from gpt.paths import CHECKPOINT_DIR, is_valid_run_id
from gpt.runs.inputs import UPLOAD_NAME, JobError, check_upload, sanitize_run_name
from gpt.runs.layout import STATUS_JSON, RunState, as_step, as_time, read_json, write_json_atomic
from gpt.runs.reader import RunInfo, list_runs, read_run
from gpt.runs.worker import (
    DEFAULT_COMMAND,
    device_key,
    explain_exit,
    is_training_process,
    start_worker,
    worker_device,
)
from gpt.train.settings import TrainSettings

MAX_QUEUED = 6  # runs waiting at once: a class clicking "Start" 30 times must not queue a day of work
JOB_JSON = "job.json"  # what the manager launched (to start a never-started run again)


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
    """A run the manager holds. Pages show ``run_state``, read as ``get_run`` reads it: a started worker
    still loading PyTorch holds the device (``state`` RUNNING) while its run is 'queued' until it says so."""

    run_id: str
    device: str
    state: RunState  # the manager's: RUNNING (its worker is started) or QUEUED
    position: int  # 0 for running runs, 1.. for waiting ones (per device)
    run_state: RunState = RunState.UNKNOWN  # the run's status, the word every page shows


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
        run_settings = settings.with_changes(data=data, device=worker_device(key))
        worker_args = ["--out", str(path), *run_settings.to_argv(), *(extra_args or [])]
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
                    "the disk or were killed, with an intact checkpoint) can be resumed"
                )
            job_meta = read_json(path / JOB_JSON) or {}
            key = str(job_meta.get("device") or device_key(info.device or "cpu"))
            if info.has_checkpoint:
                worker_args = ["--resume", str(path), "--device", worker_device(key)]
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
        if job is None or job.proc is None or read_run(job.path).state.active:
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
                job,
                RunState.QUEUED,
                f"waiting for {job.device} (position {waiting} in its queue)",
                iteration,
                max_iters,
            )
            self.poll()

    def _write_status(
        self,
        job: Job,
        state: RunState,
        message: str,
        iteration: int | None = None,
        max_iters: int | None = None,
        cause: str | None = None,
    ) -> None:
        """The manager's word on a run it holds; the step and length stay as they were unless given
        (a damaged previous value reads as 0)."""
        previous = read_json(job.path / STATUS_JSON) or {}
        status = {
            "state": RunState(state).value,
            "message": message,
            "iter": (as_step(previous.get("iter")) or 0) if iteration is None else iteration,
            "max_iters": (as_step(previous.get("max_iters")) or 0) if max_iters is None else max_iters,
            "pid": os.getpid(),  # for a queued run: the server that holds the queue
            "updated_at": time.time(),
            "device": job.device,
            "created_at": as_time(previous.get("created_at")) or time.time(),
            **({"cause": cause} if cause else {}),
        }
        write_json_atomic(job.path / STATUS_JSON, status)

    def _start(self, job: Job) -> None:
        try:
            job.proc = start_worker(self.command, job.worker_args, job.path, job.device)
        except OSError as exc:
            self._write_status(job, RunState.FAILED, f"could not start the training process: {exc}")
            return
        self._running[job.run_id] = job
        if self._state_on_disk(job) == RunState.QUEUED:  # until the worker says "running"
            self._write_status(job, RunState.QUEUED, "starting: the training process is loading PyTorch and the corpus")

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
                self._write_status(job, RunState.QUEUED, message)

    @staticmethod
    def _state_on_disk(job: Job) -> RunState:
        return RunState.parse((read_json(job.path / STATUS_JSON) or {}).get("state"))

    def _after_exit(self, job: Job, returncode: int) -> None:
        """A worker that exited without a final status (crash, bad option, a kill) gets one. What a
        worker killed mid-save left beside its checkpoint goes: no writer is left to finish it."""
        with contextlib.suppress(OSError):
            tidy_checkpoint_folder(job.path / CHECKPOINT_DIR)
        if not self._state_on_disk(job).active:
            return  # the worker said how it ended
        state, message, cause = explain_exit(returncode, job.stop_requested, job.path)
        self._write_status(job, state, message, cause=cause)

    def _loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.poll()
            except Exception:  # the scheduler thread must survive a bad folder
                continue

    def stop(self, run_id: str) -> str:
        """Stop a run: a queued run is taken off the queue; a running one gets SIGTERM (the worker
        finishes its step, saves a checkpoint and writes 'stopped')."""
        path = self.run_path(run_id)
        with self._lock:
            for job in self._queue:
                if job.run_id == run_id:
                    self._queue.remove(job)
                    self._write_status(job, RunState.STOPPED, "taken off the queue before it started")
                    self._renumber_queue()
                    return "The run was waiting in the queue; it has been taken off."
            job = self._running.get(run_id)
            finished = not read_run(path).state.active  # it may still be exiting
            if not finished and job is not None and job.proc is not None and job.proc.poll() is None:
                job.stop_requested = True
                job.proc.send_signal(signal.SIGTERM)
                return "Stop requested: the run saves a checkpoint and stops after its current step."
        info = read_run(path)
        pid = info.status.get("pid")
        if info.state == RunState.RUNNING and is_training_process(pid):
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
        return [self._settled(info) for info in list_runs(self.runs_dir)]

    def get_run(self, run_id: str) -> RunInfo:
        self.poll()
        return self._settled(read_run(self.run_path(run_id)))

    def _settled(self, info: RunInfo) -> RunInfo:
        """Called interrupted while its worker is still ours: it is dying (a SIGKILLed leader is a zombie
        while its threads wind down). Reap it first, so its exit (e.g. 'killed') is what is shown."""
        with self._lock:
            job = self._running.get(info.run_id) if info.state == RunState.INTERRUPTED else None
        if job is None or job.proc is None:
            return info
        with contextlib.suppress(subprocess.TimeoutExpired):
            job.proc.wait(timeout=10)
        self.poll()
        return read_run(info.path)

    def queue(self) -> list[QueueEntry]:
        """Runs this manager is running or holding, running first, each with its run's status."""
        self.poll()
        with self._lock:
            held = [(j, RunState.RUNNING, 0) for j in self._running.values()]
            position: dict[str, int] = {}
            for job in self._queue:
                position[job.device] = position.get(job.device, 0) + 1
                held.append((job, RunState.QUEUED, position[job.device]))
        settled = [self._settled(read_run(j.path)).state for j, _, _ in held]  # unlocked: it may wait for a worker
        return [QueueEntry(j.run_id, j.device, s, n, shown) for (j, s, n), shown in zip(held, settled, strict=True)]

    def checkpoint_dir(self, run_id: str) -> Path:
        return self.run_path(run_id) / CHECKPOINT_DIR

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
