"""Reading a training run's folder (docs/run-folder.md): status, metrics, samples, probes.

Everything here only reads, and tolerates a worker that is writing at the same moment: a
JSON-lines file whose last line is half written yields the complete lines before it, and a
missing or damaged file reads as "nothing yet" rather than an exception.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from gpt.checkpoint import SIDECAR
from gpt.files import HeaderError, read_safetensors_header
from gpt.paths import CHECKPOINT_DIR, is_valid_run_id
from gpt.runs.layout import (
    PROBE,
    PROBE_DIR,
    PROBE_KEYS,
    PROBE_QUERIES,
    PROBE_WEIGHTS,
    RESUMABLE_CAUSES,
    RUN_JSON,
    SAMPLES,
    STATUS_JSON,
    SUMMARY_JSON,
    RunState,
    as_step,
    as_time,
    finite,
    read_json,
    read_jsonl,
    read_regular_bytes,
    run_json_problems,
    status_problems,
)

# The curves live in gpt.runs.metrics; re-exported so that everything a page reads comes from here.
from gpt.runs.metrics import Metrics as Metrics
from gpt.runs.metrics import downsample as downsample
from gpt.runs.metrics import read_metrics as read_metrics
from gpt.train.settings import TrainSettings

SCORE_KINDS = ("previous_token", "first_token", "induction")


def pid_alive(pid: Any) -> bool:
    """True when process ``pid`` exists and is not a zombie (a finished child not yet reaped)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # "pid (comm) S ..." - the state letter follows the last ')'.
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): os.kill succeeding is all we know


def true_state(status: dict[str, Any] | None) -> tuple[RunState, str]:
    """(state, message) a user should see: a 'running' or 'queued' run whose process is gone
    was interrupted (the worker was killed, or the server stopped before it started)."""
    if not status:
        return RunState.UNKNOWN, "this folder has no readable status.json (not a run, or it is being created)"
    state = RunState.parse(status.get("state"))
    message = str(status.get("message", ""))
    if state.active and not pid_alive(status.get("pid")):
        if state == RunState.RUNNING:
            return (
                RunState.INTERRUPTED,
                "the training process ended without saying why (killed, or the server stopped)",
            )
        return RunState.INTERRUPTED, "the run was waiting in the queue when its server stopped; it never started"
    return state, message


def dir_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_size
    return total


DAMAGED_STATUS = "this run's status file is damaged"
DAMAGED_RUN_JSON = "its run.json is damaged"


@dataclass
class RunInfo:
    """What a run list shows about one run, read from its folder without loading weights.

    Every property returns a value of its type whatever the files say: a damaged or crafted field
    reads as missing (``read_run`` says so in ``message``)."""

    run_id: str
    path: Path
    state: RunState
    message: str
    status: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)  # run.json (empty until the worker starts)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> dict[str, Any]:
        """run.json's settings; a value of the wrong type (a crafted ``"block_size": "abc"``) is left out."""
        options = self.run.get("options")
        return {k: v for k, v in options.items() if _option_fits(k, v)} if isinstance(options, dict) else {}

    @property
    def iter(self) -> int:
        return as_step(self.status.get("iter")) or 0

    @property
    def max_iters(self) -> int:
        return as_step(self.status.get("max_iters")) or as_step(self.options.get("max_iters")) or 0

    @property
    def created_at(self) -> float:
        value = as_time(self.run.get("created_at")) or as_time(self.status.get("created_at"))
        if value is not None:
            return value
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def device(self) -> str:
        for value in (self.status.get("device"), self.run.get("device")):
            if isinstance(value, str) and value:
                return value
        return ""

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT_DIR / SIDECAR).is_file()

    @property
    def resumable(self) -> bool:
        # A full disk or a kill is not the run's fault: it continues from its intact checkpoint.
        cause = self.status.get("cause")
        failed_but_intact = (
            self.state == RunState.FAILED
            and isinstance(cause, str)
            and cause in RESUMABLE_CAUSES
            and self.has_checkpoint
        )
        return self.state.resumable or failed_but_intact

    @property
    def active(self) -> bool:
        return self.state.active


# The type of each setting, from its default (TrainSettings is the one schema of a run's settings).
_OPTION_TYPES = {f.name: type(f.default) for f in fields(TrainSettings) if f.default is not None}


def _option_fits(key: str, value: Any) -> bool:
    kind = _OPTION_TYPES.get(key)
    if kind is float:
        return finite(value) is not None
    if kind is int:  # bool is not an int here, and the number must fit a table's int64 column
        return type(value) is int and abs(value) <= 2**53
    if kind is not None:
        return type(value) is kind
    return value is None or isinstance(value, str) or finite(value) is not None  # e.g. the resolved device


def _without_non_finite(data: dict[str, Any]) -> dict[str, Any]:
    """Top-level numbers a float cannot hold (1e400 parses as infinity, 10**400 overflows) read as missing."""
    return {
        k: v for k, v in data.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or finite(v) is not None
    }


def read_run(path: Path) -> RunInfo:
    """One run folder. A damaged status reads as state ``unknown`` with DAMAGED_STATUS as its message
    (it can be deleted, not resumed); a damaged run.json adds a note and its bad fields read as missing."""
    raw_status, raw_run = read_json(path / STATUS_JSON) or {}, read_json(path / RUN_JSON) or {}
    status, run = _without_non_finite(raw_status), _without_non_finite(raw_run)
    if damaged := status_problems(raw_status):
        state, message = RunState.UNKNOWN, f"{DAMAGED_STATUS} ({'; '.join(damaged)})"
    else:
        state, message = true_state(status or None)
    if bad_run_json := run_json_problems(raw_run):
        message = f"{message} ({DAMAGED_RUN_JSON}: {'; '.join(bad_run_json)})".lstrip()
    return RunInfo(
        run_id=path.name,
        path=path,
        state=state,
        message=message,
        status=status,
        run=run,
        summary=_without_non_finite(read_json(path / SUMMARY_JSON) or {}),
    )


def run_folders(runs_dir: Path) -> list[Path]:
    """Run folders directly inside ``runs_dir``: valid ids, real directories (never symlinks)."""
    if not runs_dir.is_dir():
        return []
    found = []
    for entry in runs_dir.iterdir():
        if entry.is_symlink() or not entry.is_dir() or not is_valid_run_id(entry.name):
            continue
        found.append(entry)
    return found


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Every run, newest first."""
    runs = [read_run(p) for p in run_folders(runs_dir)]
    runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
    return runs


# ---------------------------------------------------------------------------------------------
# Metrics (read incrementally: gpt.runs.metrics)


def eta_seconds(info: RunInfo, metrics: Metrics) -> float | None:
    """Time left for a running run, from its recent measured speed."""
    if info.state != RunState.RUNNING or metrics.seconds_per_iter is None or info.max_iters <= 0:
        return None
    return max(0, info.max_iters - info.iter) * metrics.seconds_per_iter


def read_samples(path: Path) -> list[dict[str, Any]]:
    return [r for r in read_jsonl(path / SAMPLES) if isinstance(r.get("iter"), int) and isinstance(r.get("text"), str)]


# ---------------------------------------------------------------------------------------------
# Attention probes


MAX_PROBE_BYTES = 64 << 20  # a probe file of 12 layers x 12 heads x 256 tokens is 38 MB


@dataclass
class ProbeRecord:
    iter: int
    tokens: list[str]
    scores: dict[str, np.ndarray]  # kind -> (n_layer, n_head)


@dataclass
class ProbeHistory:
    """The usable probe records of a run, and a note for each record that had to be skipped."""

    records: list[ProbeRecord]
    notes: list[str]


def probe_file(path: Path, iteration: int) -> Path:
    return path / PROBE_DIR / f"iter-{iteration:06d}.safetensors"


def _probe_shape(path: Path, iteration: int) -> tuple[int, ...] | None:
    """The shape of a probe file's attention, from its safetensors header alone, or None when the
    file is missing or unreadable."""
    if (path / PROBE_DIR).is_symlink():
        return None  # never read through a link out of the run folder
    try:
        header = read_safetensors_header(probe_file(path, iteration))
    except HeaderError:
        return None
    return header["attn_weights"][1] if "attn_weights" in header else None


def _parse_probe_record(r: dict[str, Any]) -> ProbeRecord | None:
    it, tokens, scores = r.get("iter"), r.get("tokens"), r.get("scores")
    if as_step(it) is None or not isinstance(tokens, list) or not isinstance(scores, dict):
        return None
    if not all(isinstance(t, str) for t in tokens):
        return None
    arrays = {}
    for kind in SCORE_KINDS:
        try:
            arr = np.asarray(scores.get(kind), dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if arr.ndim == 2:
            arrays[kind] = arr
    return ProbeRecord(it, tokens, arrays)


def probe_mismatch(record: ProbeRecord, shape: tuple[int, ...] | None) -> str | None:
    """Why a record and its attention file (of ``shape``) disagree, or None when they fit together."""
    score_shapes = {a.shape for a in record.scores.values()}
    if len(score_shapes) > 1:
        return f"step {record.iter} was skipped: its head scores have different shapes"
    if shape is None:
        return None  # no readable file: the page says so when that step is shown
    if len(shape) != 4 or shape[2] != shape[3]:
        return f"step {record.iter} was skipped: its attention file does not hold one square matrix per head"
    if shape[2] != len(record.tokens):
        return (
            f"step {record.iter} was skipped: its attention covers {shape[2]} tokens but its record lists "
            f"{len(record.tokens)}"
        )
    if score_shapes and score_shapes != {shape[:2]}:
        return f"step {record.iter} was skipped: its head scores do not match its attention's layers and heads"
    return None


def read_probe_history(path: Path) -> ProbeHistory:
    """Every evaluation's probe summary, sorted by iteration (the last one wins on duplicates,
    e.g. after a resume repeated an evaluation). A record whose tokens, scores and attention file
    disagree is skipped with a note, so a page never indexes past the end of one of them."""
    by_iter: dict[int, ProbeRecord] = {}
    for raw in read_jsonl(path / PROBE):
        if (record := _parse_probe_record(raw)) is not None:
            by_iter[record.iter] = record
    records, notes = [], []
    for it in sorted(by_iter):
        problem = probe_mismatch(by_iter[it], _probe_shape(path, it))
        if problem is None:
            records.append(by_iter[it])
        else:
            notes.append(problem)
    return ProbeHistory(records, notes)


def read_probe_records(path: Path) -> list[ProbeRecord]:
    """``read_probe_history``'s records alone."""
    return read_probe_history(path).records


def _probe_tensors(path: Path, iteration: int) -> dict[str, np.ndarray]:
    """The tensors of one probe file as float32 arrays; empty when it is missing or damaged."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    if (path / PROBE_DIR).is_symlink():
        return {}  # never read through a link out of the run folder
    try:
        tensors = load(read_regular_bytes(probe_file(path, iteration), MAX_PROBE_BYTES))
        return {name: array.astype(np.float32) for name, array in tensors.items()}
    except (OSError, SafetensorError, ValueError, TypeError):
        return {}


def read_probe_weights(path: Path, iteration: int) -> np.ndarray | None:
    """Attention weights (n_layer, n_head, T, T) of the probe sentence at ``iteration``, or None."""
    weights = _probe_tensors(path, iteration).get(PROBE_WEIGHTS)
    if weights is None or weights.ndim != 4 or weights.shape[2] != weights.shape[3]:
        return None
    return weights


def probe_has_qk(path: Path, iteration: int) -> bool:
    """Whether a probe file holds queries and keys (older runs' do not), from its header alone."""
    if (path / PROBE_DIR).is_symlink():
        return False
    try:
        header = read_safetensors_header(probe_file(path, iteration))
    except HeaderError:
        return False
    return PROBE_QUERIES in header and PROBE_KEYS in header


def read_probe_qk(path: Path, iteration: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every head's queries and keys (n_layer, n_head, T, head_size) of the probe sentence at
    ``iteration``; None for a run recorded without them, a damaged file or a diverged run's infinities."""
    tensors = _probe_tensors(path, iteration)
    queries, keys = tensors.get(PROBE_QUERIES), tensors.get(PROBE_KEYS)
    if queries is None or keys is None or queries.ndim != 4 or queries.shape != keys.shape:
        return None
    if not (np.isfinite(queries).all() and np.isfinite(keys).all()):
        return None
    return queries, keys


def head_score_series(records: list[ProbeRecord], kind: str) -> tuple[list[int], np.ndarray] | None:
    """(iters, scores (n_steps, n_layer, n_head)) of one score kind over training, or None."""
    rows = [(r.iter, r.scores[kind]) for r in records if kind in r.scores]
    if not rows:
        return None
    shape = rows[-1][1].shape
    rows = [(i, s) for i, s in rows if s.shape == shape]
    return [i for i, _ in rows], np.stack([s for _, s in rows])
