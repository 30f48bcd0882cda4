"""The run folder's file names and the JSON helpers that read and write them.

One home for the contract (docs/run-folder.md) shared by the worker (``gpt.runs.writer`` writes), the job manager
(``gpt.runs.jobs``) and the readers (``gpt.runs.reader``). JSON objects are replaced atomically (temp
file + os.replace), so a reader never sees half a file; JSON-lines files are appended one
flushed line at a time, and readers skip a torn last line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any

RUN_JSON = "run.json"
STATUS_JSON = "status.json"
METRICS = "metrics.jsonl"
SAMPLES = "samples.jsonl"
PROBE = "probe.jsonl"
PROBE_DIR = "probe"
SUMMARY_JSON = "summary.json"
WORKER_LOG = "worker.log"


class RunState(str, Enum):
    """What a run is doing, as ``status.json`` says it (``"state"``) and as every page shows it.

    A ``str`` subclass, so it is written to JSON and compared with plain strings as its value.
    """

    QUEUED = "queued"  # held by the job manager until its device is free; no worker yet
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # Stop pressed: checkpoint saved, resumable
    INTERRUPTED = "interrupted"  # the server went away (or the worker was killed): resumable
    DIVERGED = "diverged"  # the loss became NaN/inf
    FAILED = "failed"  # an error; "cause" says when the user can fix it
    UNKNOWN = "unknown"  # no readable status.json: not a run, or one being created

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: object) -> RunState:
        """The state a status file names; anything else (damage, a newer version) is UNKNOWN."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN

    @property
    def active(self) -> bool:
        """A worker is (or will be) busy with it: it cannot be deleted or resumed."""
        return self in (RunState.QUEUED, RunState.RUNNING)

    @property
    def resumable(self) -> bool:
        """It has a checkpoint and did not finish (a failed run whose disk filled up also is)."""
        return self in (RunState.STOPPED, RunState.INTERRUPTED)


# Why a run failed, when the user can do something about it (status.json "cause").
CAUSE_DISK_FULL = "disk_full"  # free space, then resume: the last checkpoint is intact
CAUSE_OUT_OF_MEMORY = "out_of_memory"  # start again smaller


def json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(json_safe(data), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_disk_full(exc: BaseException) -> bool:
    """An error from a full disk (or quota): an OSError, or safetensors' own error, which carries
    only the OS's words ("No space left on device (os error 28)")."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc)
    return any(os.strerror(code) in text for code in (errno.ENOSPC, errno.EDQUOT))


def write_json_even_when_full(path: Path, data: dict[str, Any]) -> None:
    """``write_json_atomic``, and on a full disk overwrite the existing file in place instead: a
    small file rewritten within its own blocks needs no free space, so the last word (a status
    saying "disk full") still gets written. A reader may briefly see it half written; ``read_json``
    treats that as missing."""
    try:
        write_json_atomic(path, data)
    except OSError as exc:
        if not is_disk_full(exc) or not path.is_file():
            raise
        text = json.dumps(json_safe(data)).encode("utf-8")
        with open(path, "r+b") as f:
            f.write(text)
            f.truncate(len(text))
            f.flush()
            os.fsync(f.fileno())


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when it is missing, half written or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON objects of a JSON-lines file; a torn or damaged line is skipped."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    records = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # the line the worker is writing right now, or damage: ignore it
        if isinstance(obj, dict):
            records.append(obj)
    return records
