"""The files of one training run folder (the contract: docs/run-folder.md).

run.json, status.json, summary.json are replaced atomically (temp file + os.replace), so a
reader never sees half a file. metrics/samples/probe .jsonl files are appended one flushed
line at a time. The names and JSON helpers live in ``gpt.runs.layout``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from gpt.checkpoint import save_checkpoint, tidy_checkpoint_folder, usable_checkpoint_dir
from gpt.generate import SamplingSettings, generate
from gpt.interpret.head_scores import head_scores, induction_score, repeated_random_tokens
from gpt.model import GPT
from gpt.paths import CHECKPOINT_DIR
from gpt.runs.layout import (
    METRICS,
    PROBE,
    PROBE_DIR,
    PROBE_KEYS,
    PROBE_QUERIES,
    PROBE_WEIGHTS,
    RUN_JSON,
    SAMPLES,
    STATUS_JSON,
    SUMMARY_JSON,
    RunState,
    json_safe,
    read_jsonl,
    write_json_atomic,
    write_json_even_when_full,
)
from gpt.tokenizers import Tokenizer
from gpt.train.trainer import Trainer, TrainerCallbacks


class RunFiles:
    """Writes one run folder. Create it only in the process that should write (rank 0)."""

    def __init__(self, run_dir: str | Path, device: str = "cpu") -> None:
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.device = device
        self.max_iters = 0
        # This process is the folder's one writer from now on: what a killed one left half-written goes.
        with contextlib.suppress(OSError):
            tidy_checkpoint_folder(self.checkpoint_dir)

    @property
    def run_id(self) -> str:
        return self.dir.name

    @property
    def checkpoint_dir(self) -> Path:
        return self.dir / CHECKPOINT_DIR

    def write_run_json(self, argv: list[str], options: dict[str, Any]) -> None:
        data = {"run_id": self.run_id, "created_at": time.time(), "argv": argv, "options": options}
        write_json_atomic(self.dir / RUN_JSON, {**data, "device": self.device})

    def write_status(self, state: RunState, message: str = "", it: int = 0, **extra: Any) -> None:
        status = {
            "state": RunState(state).value,
            "message": message,
            "iter": it,
            "max_iters": self.max_iters,
            "pid": os.getpid(),
            "updated_at": time.time(),
            "device": self.device,
            **extra,
        }
        write_json_even_when_full(self.dir / STATUS_JSON, status)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with open(self.dir / name, "a", encoding="utf-8") as f:
            f.write(json.dumps(json_safe(record)) + "\n")
            f.flush()

    def append_metrics(self, record: dict[str, Any]) -> None:
        self._append(METRICS, record)

    def append_sample(self, it: int, prompt: str, text: str) -> None:
        self._append(SAMPLES, {"iter": it, "prompt": prompt, "text": text})

    def append_probe(
        self,
        it: int,
        tokens: list[str],
        scores: dict[str, list[list[float]]],
        attn_weights: torch.Tensor,
        queries: torch.Tensor | None = None,
        keys: torch.Tensor | None = None,
    ) -> None:
        """attn_weights: (n_layer, n_head, T, T); queries, keys: (n_layer, n_head, T, head_size), both or
        neither. One tensor file, complete before the line points at it."""
        probe_dir = self.dir / PROBE_DIR
        probe_dir.mkdir(exist_ok=True)
        final = probe_dir / f"iter-{it:06d}.safetensors"
        tmp = probe_dir / f".{final.name}.tmp"
        tensors = {PROBE_WEIGHTS: attn_weights.detach().float().cpu().contiguous()}
        if queries is not None and keys is not None:
            tensors[PROBE_QUERIES], tensors[PROBE_KEYS] = compact(queries), compact(keys)
        save_file(tensors, str(tmp))
        os.replace(tmp, final)
        self._append(PROBE, {"iter": it, "tokens": tokens, "scores": scores})

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.dir / SUMMARY_JSON, summary)

    def truncate_after(self, it: int) -> None:
        """On resume: forget log lines and probe files written after the checkpoint at step ``it``,
        so the resumed run's records continue the curve instead of duplicating steps."""
        for name in (METRICS, SAMPLES, PROBE):
            path = self.dir / name
            if not path.is_file():
                continue
            kept = [r for r in read_jsonl(path) if isinstance(r.get("iter"), int) and r["iter"] <= it]
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.dir)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)
            os.replace(tmp, path)
        probe_dir = self.dir / PROBE_DIR
        if probe_dir.is_dir():
            for file in probe_dir.glob("iter-*.safetensors"):
                try:
                    if int(file.stem.split("-")[1]) > it:
                        file.unlink()
                except (ValueError, IndexError):
                    continue
        summary = self.dir / SUMMARY_JSON
        if summary.exists():
            summary.unlink()  # the run is going on again; a new summary comes at its end


def _bytes_of(path: Path) -> int:
    try:
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file() and not f.is_symlink())
    except OSError:
        return 0


def resume_space_needed(run_dir: str | Path) -> int | None:
    """Free bytes a run needs to resume, or None when it has no checkpoint: a save writes the whole
    new checkpoint before it removes the old one (one checkpoint's size), a resume rewrites its
    largest JSON-lines file once (``truncate_after``), and the run goes on appending; twice the
    checkpoint's size covers that growth."""
    run_dir = Path(run_dir)
    checkpoint = usable_checkpoint_dir(run_dir / CHECKPOINT_DIR)
    if checkpoint is None:
        return None
    logs = [(run_dir / name).stat().st_size for name in (METRICS, SAMPLES, PROBE) if (run_dir / name).is_file()]
    return 2 * _bytes_of(checkpoint) + max(logs, default=0)


# --------------------------------------------------------------------------- what each evaluation records


def compact(vectors: torch.Tensor) -> torch.Tensor:
    """Queries or keys as float16 (half the bytes, ~3 significant digits: plenty for a picture; the
    CPU preset's run folder grows 7 % instead of 15 %), float32 where float16 cannot hold them."""
    vectors = vectors.detach().float().cpu().contiguous()
    half = vectors.half()
    return half if bool(torch.isfinite(half).all()) or not bool(torch.isfinite(vectors).all()) else vectors


@dataclass(frozen=True)
class ProbeTrace:
    """What one evaluation records of the probe sentence (cut to the context)."""

    tokens: list[str]
    weights: torch.Tensor  # (n_layer, n_head, T, T) attention weights
    queries: torch.Tensor  # (n_layer, n_head, T, head_size)
    keys: torch.Tensor


def probe_trace(model: GPT, tokenizer: Tokenizer, text: str) -> ProbeTrace:
    """The probe sentence's tokens, every head's attention weights, queries and keys, from one trace."""
    pieces = tokenizer.pieces(text)[: model.config.block_size]
    if not pieces:
        raise ValueError("the probe sentence has no tokens")
    trace = model.trace([p.id for p in pieces])
    weights = torch.stack([layer.attn_weights() for layer in trace.layers])  # (L, nh, T, T)
    queries = torch.stack([layer.q for layer in trace.layers])  # (L, nh, T, hs)
    keys = torch.stack([layer.k for layer in trace.layers])
    return ProbeTrace([p.text for p in pieces], weights, queries, keys)


def probe_scores(model: GPT, weights: torch.Tensor, seed: int = 0) -> dict[str, list[list[float]]]:
    """Per-head previous-token / first-token scores of the probe, and induction scores measured on a
    random token sequence repeated twice (an induction head looks where the repeat will continue)."""
    scores = head_scores(weights)
    period = min(model.config.block_size // 2, 32)
    if period >= 2:
        rep = repeated_random_tokens(model.config.vocab_size, period, repeats=2, seed=seed)
        rep_weights = torch.stack([layer.attn_weights() for layer in model.trace(rep).layers])
        induction = induction_score(rep_weights, period)
    else:
        induction = torch.zeros(weights.shape[:2])
    return {
        "previous_token": scores["previous_token"].tolist(),
        "first_token": scores["first_token"].tolist(),
        "induction": induction.tolist(),
    }


def sample_text(model: GPT, tokenizer: Tokenizer, prompt: str, max_new_tokens: int, seed: int) -> str:
    """A continuation of the fixed prompt with a fixed seed: the same model state gives the same text."""
    prompt_ids = tokenizer.encode(prompt)[-model.config.block_size :] or [0]
    steps = generate(model, prompt_ids, max_new_tokens, SamplingSettings(temperature=0.8, top_k=40, seed=seed))
    return tokenizer.decode([s.token_id for s in steps])


# --------------------------------------------------------------------------- the trainer's reporter


class RunRecorder(TrainerCallbacks):
    """Turns the trainer's reports into the run folder's files (main process only)."""

    def __init__(
        self,
        files: RunFiles,
        tokenizer: Tokenizer,
        train_options: dict[str, Any],
        probe_text: str,
        sample_prompt: str,
        sample_tokens: int,
        stop_reason: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.files = files
        self.tokenizer = tokenizer
        self.train_options = train_options
        self.probe_text = probe_text
        self.sample_prompt = sample_prompt
        self.sample_tokens = sample_tokens
        self._stop_reason = stop_reason
        self.saved_iter = -1

    def on_log(self, trainer: Trainer, record: dict[str, Any]) -> None:
        self.files.append_metrics(record)
        it = record["iter"]
        self.files.write_status(RunState.RUNNING, f"step {it} of {trainer.cfg.max_iters}", it)

    def on_eval(self, trainer: Trainer, it: int, losses: dict[str, float]) -> None:
        model = trainer.model
        model.eval()
        if model.config.has_attention:  # a model without blocks (the bigram rung) has no attention to record
            probe = probe_trace(model, self.tokenizer, self.probe_text)
            scores = probe_scores(model, probe.weights)
            self.files.append_probe(it, probe.tokens, scores, probe.weights, probe.queries, probe.keys)
        text = sample_text(model, self.tokenizer, self.sample_prompt, self.sample_tokens, trainer.cfg.seed)
        self.files.append_sample(it, self.sample_prompt, text)
        model.train()
        self.save(trainer, losses)

    def save(self, trainer: Trainer, losses: dict[str, float] | None = None) -> None:
        extra = {
            "iter": trainer.iter,
            "best_val_loss": trainer.best_val_loss,
            "train_options": self.train_options,
            "seed": trainer.cfg.seed,
            "run_id": self.files.run_id,
        }
        if losses:
            extra.update(val_loss=losses["val"], train_loss=losses["train"])
        save_checkpoint(
            self.files.checkpoint_dir, trainer.model, self.tokenizer, json_safe(extra), trainer.optimizer_state()
        )
        self.saved_iter = trainer.iter

    def stop_reason(self, trainer: Trainer) -> str | None:
        return self._stop_reason()
