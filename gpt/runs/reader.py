"""Reading a training run's folder (docs/run-folder.md): status, metrics, samples, probes.

Everything here only reads, and tolerates a worker that is writing at the same moment: a
JSON-lines file whose last line is half written yields the complete lines before it, and a
missing or damaged file reads as "nothing yet" rather than an exception.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpt.checkpoint import SIDECAR
from gpt.paths import CHECKPOINT_DIR, is_valid_run_id
from gpt.runs.layout import (
    CAUSE_DISK_FULL,
    METRICS,
    PROBE,
    PROBE_DIR,
    RUN_JSON,
    SAMPLES,
    STATUS_JSON,
    SUMMARY_JSON,
    RunState,
    read_json,
    read_jsonl,
)

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


@dataclass
class RunInfo:
    """What a run list shows about one run, read from its folder without loading weights."""

    run_id: str
    path: Path
    state: RunState
    message: str
    status: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)  # run.json (empty until the worker starts)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.run.get("options") or {})

    @property
    def iter(self) -> int:
        return int(self.status.get("iter") or 0)

    @property
    def max_iters(self) -> int:
        return int(self.status.get("max_iters") or self.options.get("max_iters") or 0)

    @property
    def created_at(self) -> float:
        value = self.run.get("created_at") or self.status.get("created_at")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def device(self) -> str:
        return str(self.status.get("device") or self.run.get("device") or "")

    @property
    def has_checkpoint(self) -> bool:
        return (self.path / CHECKPOINT_DIR / SIDECAR).is_file()

    @property
    def resumable(self) -> bool:
        # A full disk is not the run's fault: once space is freed it continues from its checkpoint.
        full = self.state == RunState.FAILED and self.status.get("cause") == CAUSE_DISK_FULL and self.has_checkpoint
        return self.state.resumable or full

    @property
    def active(self) -> bool:
        return self.state.active


def read_run(path: Path) -> RunInfo:
    status = read_json(path / STATUS_JSON) or {}
    state, message = true_state(status or None)
    return RunInfo(
        run_id=path.name,
        path=path,
        state=state,
        message=message,
        status=status,
        run=read_json(path / RUN_JSON) or {},
        summary=read_json(path / SUMMARY_JSON) or {},
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
# Metrics


@dataclass
class Metrics:
    """Loss curves of a run as plain lists (x = iteration)."""

    train_iters: list[int]
    train_loss: list[float]
    val_iters: list[int]
    val_loss: list[float]
    last: dict[str, Any]  # the latest metrics line (lr, tokens/s, elapsed)
    seconds_per_iter: float | None  # recent wall time per iteration, evaluations included


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def downsample(n: int, max_points: int) -> list[int]:
    """Indices of at most ``max_points`` evenly spread items of ``n``; first and last are kept."""
    if n <= max_points or max_points < 2:
        return list(range(n))
    step = (n - 1) / (max_points - 1)
    return sorted({round(i * step) for i in range(max_points)})


def _recent_seconds_per_iter(records: list[dict[str, Any]], window: int = 20) -> float | None:
    timed = [r for r in records if _finite(r.get("elapsed_s")) is not None and isinstance(r.get("iter"), int)]
    recent = timed[-window:]
    # A resumed run's clock starts again from 0: only the lines since the last restart count.
    for i in range(len(recent) - 1, 0, -1):
        if recent[i - 1]["elapsed_s"] > recent[i]["elapsed_s"] or recent[i - 1]["iter"] >= recent[i]["iter"]:
            recent = recent[i:]
            break
    if len(recent) < 2:
        return None
    d_iter = recent[-1]["iter"] - recent[0]["iter"]
    d_time = recent[-1]["elapsed_s"] - recent[0]["elapsed_s"]
    if d_iter <= 0 or d_time <= 0:
        return None
    return d_time / d_iter


def read_metrics(path: Path, max_points: int = 500) -> Metrics:
    """Train/val loss curves, downsampled to ``max_points`` for charts (every val point is kept)."""
    records = read_jsonl(path / METRICS)
    train = [(r["iter"], _finite(r.get("train_loss"))) for r in records if isinstance(r.get("iter"), int)]
    train = [(i, v) for i, v in train if v is not None]
    keep = downsample(len(train), max_points)
    val = [(r["iter"], _finite(r.get("val_loss"))) for r in records if isinstance(r.get("iter"), int)]
    val = [(i, v) for i, v in val if v is not None]
    return Metrics(
        train_iters=[train[i][0] for i in keep],
        train_loss=[train[i][1] for i in keep],
        val_iters=[i for i, _ in val],
        val_loss=[v for _, v in val],
        last=records[-1] if records else {},
        seconds_per_iter=_recent_seconds_per_iter(records),
    )


def eta_seconds(info: RunInfo, metrics: Metrics) -> float | None:
    """Time left for a running run, from its recent measured speed."""
    if info.state != RunState.RUNNING or metrics.seconds_per_iter is None or info.max_iters <= 0:
        return None
    return max(0, info.max_iters - info.iter) * metrics.seconds_per_iter


def read_samples(path: Path) -> list[dict[str, Any]]:
    return [r for r in read_jsonl(path / SAMPLES) if isinstance(r.get("iter"), int) and isinstance(r.get("text"), str)]


# ---------------------------------------------------------------------------------------------
# Attention probes


@dataclass
class ProbeRecord:
    iter: int
    tokens: list[str]
    scores: dict[str, np.ndarray]  # kind -> (n_layer, n_head)


def read_probe_records(path: Path) -> list[ProbeRecord]:
    """Every evaluation's probe summary, sorted by iteration (the last one wins on duplicates,
    e.g. after a resume repeated an evaluation)."""
    by_iter: dict[int, ProbeRecord] = {}
    for r in read_jsonl(path / PROBE):
        it, tokens, scores = r.get("iter"), r.get("tokens"), r.get("scores")
        if not isinstance(it, int) or not isinstance(tokens, list) or not isinstance(scores, dict):
            continue
        arrays = {}
        for kind in SCORE_KINDS:
            try:
                arr = np.asarray(scores.get(kind), dtype=np.float64)
            except (TypeError, ValueError):
                continue
            if arr.ndim == 2:
                arrays[kind] = arr
        by_iter[it] = ProbeRecord(it, [str(t) for t in tokens], arrays)
    return [by_iter[i] for i in sorted(by_iter)]


def probe_file(path: Path, iteration: int) -> Path:
    return path / PROBE_DIR / f"iter-{iteration:06d}.safetensors"


def read_probe_weights(path: Path, iteration: int) -> np.ndarray | None:
    """Attention weights (n_layer, n_head, T, T) of the probe sentence at ``iteration``, or None."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    file = probe_file(path, iteration)
    try:
        tensors = load_file(str(file))
    except (OSError, SafetensorError, ValueError):
        return None
    weights = tensors.get("attn_weights")
    if weights is None or weights.ndim != 4:
        return None
    return weights.astype(np.float32)


def head_score_series(records: list[ProbeRecord], kind: str) -> tuple[list[int], np.ndarray] | None:
    """(iters, scores (n_steps, n_layer, n_head)) of one score kind over training, or None."""
    rows = [(r.iter, r.scores[kind]) for r in records if kind in r.scores]
    if not rows:
        return None
    shape = rows[-1][1].shape
    rows = [(i, s) for i, s in rows if s.shape == shape]
    return [i for i, _ in rows], np.stack([s for _, s in rows])
