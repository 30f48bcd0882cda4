"""Before a run starts: how big is the model, how much memory, how long will it take, where can it run.

The time estimate is measured, not guessed: a few real training steps of the chosen model and
batch on the chosen device, through the same ``Trainer`` the worker uses, on random tokens, in a
child process (``probe_in_subprocess``) so the server never trains, at the workers' lower CPU
priority and with their environment (no teacher key; ``gpt.train.process``). One probe at a time
per server process (ten students changing settings must not start ten); pages ask
``gpt.train.probe_queue.ProbeQueue``, which runs them in the background, so no page waits for one.
Command line: ``python -m gpt.train.estimate '{"config": {...}, "batch_size": 12, "device": "cpu"}'``
prints the probe result as JSON.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from gpt.config import ConfigError, GPTConfig
from gpt.paths import ROOT
from gpt.train.device import physical_memory
from gpt.train.process import CHILD_NICENESS, child_env

FLOAT_BYTES = 4
ADAMW_BYTES_PER_PARAM = 16  # fp32 weights 4 + gradients 4 + AdamW moments 8
ACTIVATION_FLOATS_PER_TOKEN_LAYER = 20  # saved for backward per token and layer, in units of n_embd (flash attention)
LOGIT_COPIES = 3  # logits, their softmax and its gradient
WARMUP_STEPS = 3  # not timed: the first steps allocate memory and pick kernels (measured: several times slower)
DEFAULT_PROBE_STEPS = 30  # at most this many timed steps ...
PROBE_TARGET_S = 2.0  # ... or fewer once this much step time is timed (at least 3 steps): tiny models
# take milliseconds per step, so one step would be mostly noise
PROBE_TIMEOUT_S = 90
# On a CPU (or MPS) a probe step is kept under this many FLOPs by timing a smaller batch and scaling
# up: time per step grows linearly with the batch there, and a page should not wait a minute.
MAX_PROBE_STEP_FLOPS = 2e10
MEMINFO = Path("/proc/meminfo")
# One speed probe at a time in this process: each is a child that trains flat out for seconds and
# holds a model in memory, so concurrent ones would slow each other, the pages and any run.
_PROBE_SLOT = threading.Lock()


class EstimateError(RuntimeError):
    """The probe could not run; the message says why (e.g. out of memory, no such device)."""


def available_memory(meminfo: Path = MEMINFO) -> int | None:
    """RAM a new process can use now, in bytes: Linux's MemAvailable (free plus reclaimable cache),
    which already excludes what running runs and the server hold; the machine's total where the
    kernel does not say (not Linux), None where neither is known."""
    try:
        for line in meminfo.read_text(encoding="ascii", errors="replace").splitlines():
            name, _, rest = line.partition(":")
            if name == "MemAvailable":
                return int(rest.split()[0]) * 1024  # the kernel counts in kB
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory()


def count_params(cfg: GPTConfig) -> int:
    """Parameters of the model (the tied output layer counted once), without allocating weights."""
    from gpt.model import GPT

    with torch.device("meta"):
        return GPT(cfg).num_params()


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    training_state_bytes: int  # weights + gradients + optimizer moments
    activation_bytes: int  # what one step keeps for the backward pass
    total_bytes: int


def memory_estimate(cfg: GPTConfig, batch_size: int, n_params: int | None = None) -> MemoryEstimate:
    """Rough training memory for fp32 weights and AdamW (activations from a per-layer count of the
    tensors saved for backward; fused attention keeps no T x T matrix)."""
    n_params = count_params(cfg) if n_params is None else n_params
    tokens = batch_size * cfg.block_size
    per_token = cfg.n_layer * ACTIVATION_FLOATS_PER_TOKEN_LAYER * cfg.n_embd + LOGIT_COPIES * cfg.vocab_size
    activations = tokens * per_token * FLOAT_BYTES
    state = n_params * ADAMW_BYTES_PER_PARAM
    return MemoryEstimate(n_params * FLOAT_BYTES, state, activations, state + activations)


@dataclass(frozen=True)
class ProbeResult:
    device: str
    seconds_per_iter: float  # one training step (forward + backward + AdamW), measured
    steps_timed: int
    warmup_s: float  # the first WARMUP_STEPS steps (allocations, kernel selection), not counted above
    peak_memory_bytes: int | None  # measured on CUDA; None elsewhere
    tokens_per_s: float
    batch_measured: int = 0  # the batch actually timed (smaller than the run's on a CPU for big models)
    speed_choice: str = ""  # threads and precision the run will use, and how they were chosen (gpt.train.tuning)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flops_per_token(cfg: GPTConfig, n_params: int | None = None) -> float:
    """Training FLOPs per token: 6 per parameter (forward + backward) plus attention (as nanoGPT's MFU)."""
    n_params = count_params(cfg) if n_params is None else n_params
    return 6 * n_params + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size


def probe_batch(cfg: GPTConfig, batch_size: int, device: str) -> int:
    """The batch the probe times: the run's own on a GPU; on a CPU/MPS small enough to be quick."""
    if device.startswith("cuda"):
        return batch_size
    per_sequence = flops_per_token(cfg) * cfg.block_size
    return max(1, min(batch_size, int(MAX_PROBE_STEP_FLOPS // per_sequence)))


def _torch_device(device: str) -> torch.device:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EstimateError("CUDA was chosen but no CUDA GPU is available here")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EstimateError("MPS was chosen but no Apple GPU is available here")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise EstimateError(f"unknown device {device!r}") from exc


def measure_step_time(
    cfg: GPTConfig,
    batch_size: int,
    device: str = "cpu",
    steps: int = DEFAULT_PROBE_STEPS,
    max_seconds: float = 30.0,
    bf16: bool = False,
    threads: int = 0,
    target_s: float = PROBE_TARGET_S,
    optimizer: str = "adamw",
) -> ProbeResult:
    """Time real training steps of ``cfg`` on random tokens (after WARMUP_STEPS untimed ones) and return
    the median step time (robust to a hiccup of a busy machine).

    Uses the worker's own ``Trainer``: the same optimizer, clipping and autocast as a real run.
    Times up to ``steps`` steps, fewer once ``target_s`` of step time is timed, and stops
    (after at least one timed step) when ``max_seconds`` of wall time have passed. ``threads`` > 0
    sets torch's CPU threads first (the run's choice: ``gpt.train.tuning``). ``optimizer`` is the run's:
    Muon's orthogonalisation costs time per step that AdamW does not.
    """
    from gpt.model import GPT
    from gpt.train.data import Splits
    from gpt.train.settings import TrainSettings
    from gpt.train.trainer import Trainer, TrainerCallbacks

    if batch_size < 1 or steps < 1:
        raise EstimateError("batch size and steps must be at least 1")
    dev = _torch_device(device)
    if dev.type == "cpu" and threads > 0:
        torch.set_num_threads(threads)
    measured_batch = probe_batch(cfg, batch_size, device)
    torch.manual_seed(0)
    n_tokens = cfg.block_size * 4 + 2
    data = torch.randint(0, cfg.vocab_size, (n_tokens,))
    splits = Splits(train=data, val=data)
    step_times: list[float] = []

    class Clock(TrainerCallbacks):
        """Records the trainer's own training-time counter before every step."""

        def __init__(self) -> None:
            self.marks: list[float] = []
            self.started = time.perf_counter()

        def stop_reason(self, trainer: Trainer) -> str | None:
            self.marks.append(trainer.train_time_s)  # marks[k]: time of steps 1..k
            n_timed = len(self.marks) - 1 - WARMUP_STEPS
            if n_timed >= 3 and self.marks[-1] - self.marks[WARMUP_STEPS] >= target_s:
                return "stopped"
            if n_timed >= 1 and time.perf_counter() - self.started > max_seconds:
                return "stopped"
            return None

    clock = Clock()
    train_settings = TrainSettings(
        batch_size=measured_batch,
        max_iters=steps + WARMUP_STEPS,
        eval_interval=10**9,
        eval_iters=1,
        log_interval=10**9,
        warmup_iters=0,
        optimizer=optimizer,
    )
    try:
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        model = GPT(cfg)
        trainer = Trainer(model, train_settings, splits, dev, clock, bf16=bf16)
        trainer.train()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    except torch.OutOfMemoryError as exc:
        raise EstimateError(f"this model and batch do not fit in the memory of {device}: {exc}") from exc
    except RuntimeError as exc:
        raise EstimateError(f"the probe failed on {device}: {exc}") from exc
    marks = [*clock.marks, trainer.train_time_s]
    step_times = [b - a for a, b in zip(marks, marks[1:]) if b > a]
    if len(step_times) <= WARMUP_STEPS:
        raise EstimateError("the probe could not time a training step")
    warmup, timed = sum(step_times[:WARMUP_STEPS]), step_times[WARMUP_STEPS:]
    per_iter = statistics.median(timed) * batch_size / measured_batch
    peak = int(torch.cuda.max_memory_allocated(dev)) if dev.type == "cuda" else None
    return ProbeResult(
        device=device,
        seconds_per_iter=per_iter,
        steps_timed=len(timed),
        warmup_s=warmup,
        peak_memory_bytes=peak,
        tokens_per_s=batch_size * cfg.block_size / per_iter,
        batch_measured=measured_batch,
    )


@dataclass(frozen=True)
class CorpusStats:
    chars: int
    tokens: int
    vocab_size: int  # what the model's embedding table must hold for this corpus and tokenizer
    train_tokens: int = 0  # the 90% training split
    val_tokens: int = 0  # the 10% validation split

    def check_block(self, block_size: int) -> None:
        """Both splits hold one window of ``block_size`` (raises EstimateError): no re-tokenizing when
        only the context length changes."""
        from gpt.train.data import DataError, check_split_sizes

        try:
            check_split_sizes(self.train_tokens, self.val_tokens, block_size)
        except DataError as exc:
            raise EstimateError(str(exc).replace("--block-size", "context length (block size)")) from exc


def corpus_stats(text: str, tokenizer_kind: str, block_size: int | None = None) -> CorpusStats:
    """Tokenize a corpus as the worker will; with ``block_size``, also check that both the 90%
    training split and the 10% validation split hold one window (raises EstimateError)."""
    from gpt.train.data import DataError, make_tokenizer, split_ids

    try:
        tokenizer = make_tokenizer(tokenizer_kind, text)
        ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    except DataError as exc:
        raise EstimateError(str(exc)) from exc
    splits = split_ids(ids)
    stats = CorpusStats(len(text), len(ids), tokenizer.vocab_size, len(splits.train), len(splits.val))
    if block_size is not None:
        stats.check_block(block_size)
    return stats


def estimate_run_seconds(seconds_per_iter: float, max_iters: int, eval_interval: int, eval_iters: int) -> float:
    """Training steps plus evaluations: each evaluation runs eval_iters batches of both splits
    forward only (about a third of a training step each)."""
    n_evals = max_iters // max(1, eval_interval) + 2  # + the one at step 0 and the final one
    eval_s = n_evals * 2 * eval_iters * seconds_per_iter / 3
    return max_iters * seconds_per_iter + eval_s


def probe_in_subprocess(
    cfg: GPTConfig,
    batch_size: int,
    device: str,
    steps: int = DEFAULT_PROBE_STEPS,
    bf16: bool | None = None,
    timeout: float = PROBE_TIMEOUT_S,
    optimizer: str = "adamw",
) -> ProbeResult:
    """``measure_step_time`` in a child process: the server process never trains, and a GPU's memory
    is given back as soon as the probe ends. It blocks until then (pages use ``ProbeQueue``).

    One probe runs at a time per process: a second caller waits for the first to end.
    The child runs at CHILD_NICENESS with ``child_env``.
    """
    if batch_size < 1 or steps < 1:
        raise EstimateError("batch size and steps must be at least 1")
    child_device = "cuda" if device.startswith("cuda:") else device  # it sees only its GPU (child_env)
    request = {
        "config": cfg.to_dict(),
        "batch_size": batch_size,
        "device": child_device,
        "steps": steps,
        "bf16": bf16,
        "optimizer": optimizer,
        "nice": CHILD_NICENESS,
    }
    argv = [sys.executable, "-m", "gpt.train.estimate", json.dumps(request)]
    try:
        with _PROBE_SLOT:
            out = subprocess.run(argv, cwd=ROOT, env=child_env(device), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise EstimateError(
            f"the speed probe took longer than {timeout:.0f} s; the model is too big for {device}"
        ) from exc
    lines = out.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if "error" in answer:
        raise EstimateError(str(answer["error"]))
    if out.returncode != 0 or "seconds_per_iter" not in answer:
        tail = (out.stderr or out.stdout).strip()[-500:]
        raise EstimateError(f"the speed probe failed (exit code {out.returncode}): {tail}")
    answer["device"] = device
    try:
        return ProbeResult(**answer)
    except TypeError as exc:
        raise EstimateError(f"the speed probe answered something unexpected: {answer}") from exc


def probe_with_run_choice(
    cfg: GPTConfig, batch_size: int, device: str, steps: int, dtype: str, optimizer: str = "adamw"
) -> ProbeResult:
    """The probe as the run will train: with the threads and precision the run will choose (measured
    once per machine by ``gpt.train.tuning``, and remembered for the run)."""
    from gpt.train.tuning import tuned_choice

    dev = _torch_device(device)
    choice = tuned_choice(cfg, batch_size, dev, threads=0, dtype=dtype, optimizer=optimizer)
    result = measure_step_time(
        cfg, batch_size, device, steps=steps, bf16=choice.bf16, threads=choice.threads, optimizer=optimizer
    )
    return replace(result, speed_choice=choice.describe())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        request = json.loads(args[0])
        cfg = GPTConfig.from_dict(request["config"])
        niceness = int(request.get("nice", 0))
        if niceness > 0 and hasattr(os, "nice"):
            os.nice(niceness)  # before torch starts its thread pool: the threads inherit it
        bf16 = request.get("bf16")
        result = probe_with_run_choice(
            cfg,
            int(request["batch_size"]),
            str(request.get("device", "cpu")),
            steps=int(request.get("steps", DEFAULT_PROBE_STEPS)),
            dtype="auto" if bf16 is None else "bfloat16" if bf16 else "float32",
            optimizer=str(request.get("optimizer", "adamw")),
        )
    except (IndexError, KeyError, TypeError, ValueError, json.JSONDecodeError, ConfigError, EstimateError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    print(json.dumps(result.to_dict()))
    return 0 if math.isfinite(result.seconds_per_iter) else 1


if __name__ == "__main__":
    sys.exit(main())
