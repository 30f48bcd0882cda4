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

from gpt.files import open_regular_file as open_regular  # regular files only: no FIFO, device or link

RUN_JSON = "run.json"
STATUS_JSON = "status.json"
METRICS = "metrics.jsonl"
SAMPLES = "samples.jsonl"
PROBE = "probe.jsonl"
PROBE_DIR = "probe"
# The tensors of a probe file: attention weights (n_layer, n_head, T, T); since the Q/K plane, each
# head's queries and keys (n_layer, n_head, T, head_size) too (older runs lack them).
PROBE_WEIGHTS, PROBE_QUERIES, PROBE_KEYS = "attn_weights", "queries", "keys"
SUMMARY_JSON = "summary.json"
WORKER_LOG = "worker.log"
# status/run/summary/job files are a few KB; a bigger one was not written by us and is not read.
MAX_JSON_BYTES = 4 << 20


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
CAUSE_KILLED = "killed"  # SIGKILL (most often the kernel's out-of-memory killer): its checkpoint is intact
# A failed run with one of these causes continues from its checkpoint (when it has one).
RESUMABLE_CAUSES = frozenset({CAUSE_DISK_FULL, CAUSE_KILLED})


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


def read_regular_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file (``open_regular``); OSError when it is bigger than ``max_bytes``."""
    with open_regular(path) as f:
        if max_bytes is not None and os.fstat(f.fileno()).st_size > max_bytes:
            raise OSError(errno.EFBIG, f"bigger than {max_bytes} bytes", str(path))
        return f.read() if max_bytes is None else f.read(max_bytes + 1)


def _no_constant(name: str) -> None:
    """JSON text may say NaN or Infinity (Python writes them); a reader takes them as missing (null)."""
    return None


def parse_json(raw: bytes | str) -> Any:
    """A JSON value, or raises ValueError (bad text, bad UTF-8) / RecursionError (absurd nesting)."""
    return json.loads(raw, parse_constant=_no_constant)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when it is missing, half written, not an object, not a
    regular file or absurdly big."""
    try:
        data = parse_json(read_regular_bytes(path, MAX_JSON_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def parse_jsonl_line(line: bytes) -> dict[str, Any] | None:
    """One JSON-lines record, or None for a blank, torn or damaged line or one that is not an object."""
    if not line.strip():
        return None
    try:
        obj = parse_json(line)
    except (ValueError, RecursionError):
        return None  # the line the worker is writing right now, or damage: ignore it
    return obj if isinstance(obj, dict) else None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON objects of a JSON-lines file; a torn or damaged line is skipped."""
    try:
        raw = read_regular_bytes(path)
    except OSError:
        return []
    return [obj for obj in map(parse_jsonl_line, raw.split(b"\n")) if obj is not None]


def finite(value: Any) -> float | None:
    """A real number as float, or None (not a number, a bool, NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too big for a float
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- the fields readers check

MAX_STEP = 10**12  # more steps than any run makes: a bigger number is damage
LATEST_TIME = 32_503_680_000.0  # the year 3000: a later "date" is damage (and datetime cannot show it)


def as_step(value: Any) -> int | None:
    """A step count (a whole number, 0 to MAX_STEP), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STEP:
        return None
    return value


def as_time(value: Any) -> float | None:
    """A Unix time (finite, after 1970, before the year 3000), or None."""
    number = finite(value)
    return number if number is not None and 0 < number <= LATEST_TIME else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def status_problems(status: dict[str, Any]) -> list[str]:
    """What is wrong with the fields of a status.json (empty when nothing is)."""
    problems = [
        f"{key} is {_shown(status[key])}, not a step number"
        for key in ("iter", "max_iters")
        if status.get(key) is not None and as_step(status[key]) is None
    ]
    problems += [
        f"{key} is not text"
        for key in ("state", "message", "device", "cause")
        if key in status and not isinstance(status[key], str)
    ]
    problems += [
        f"{key} is {_shown(status[key])}, not a time"
        for key in ("created_at", "updated_at")
        if status.get(key) is not None and as_time(status[key]) is None
    ]
    return problems


def run_json_problems(run: dict[str, Any]) -> list[str]:
    """What is wrong with the fields of a run.json that the pages use."""
    problems = []
    if run.get("created_at") is not None and as_time(run["created_at"]) is None:
        problems.append(f"created_at is {_shown(run['created_at'])}, not a time")
    if "device" in run and not isinstance(run["device"], str):
        problems.append("device is not text")
    if "options" in run and not isinstance(run["options"], dict):
        problems.append("options is not an object")
    return problems
