"""Fabricated run folders that follow the run folder contract, for page and reader tests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

from gpt.checkpoint import save_checkpoint
from gpt.config import preset
from gpt.model import GPT
from gpt.tokenizers import get_tokenizer

PROBE_TOKENS = ["T", "h", "e", " ", "c", "a", "t"]


def make_run(
    runs_dir: Path,
    run_id: str,
    state: str = "finished",
    evals: tuple[int, ...] = (0, 50, 100),
    checkpoint: bool = True,
    pid: int | None = None,
) -> Path:
    """A run with metrics, samples, probes (n_layer=2, n_head=2) and optionally a real tiny checkpoint."""
    path = runs_dir / run_id
    (path / "probe").mkdir(parents=True)
    max_iters = evals[-1]
    options = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 16, "tokenizer": "char", "seed": 7,
               "max_iters": max_iters}  # fmt: skip
    (path / "run.json").write_text(json.dumps({"run_id": run_id, "created_at": time.time(), "argv": [],
                                               "options": options, "device": "cpu"}))  # fmt: skip
    status = {"state": state, "message": f"{state} for a test", "iter": max_iters, "max_iters": max_iters,
              "pid": pid or os.getpid(), "updated_at": time.time(), "device": "cpu"}  # fmt: skip
    (path / "status.json").write_text(json.dumps(status))
    with open(path / "metrics.jsonl", "w") as f:
        for it in range(0, max_iters + 1, 10):
            rec = {"iter": it, "train_loss": 4.0 - it / 50, "lr": 1e-3, "tokens_per_s": 5000.0, "elapsed_s": it * 0.1}
            if it in evals:
                rec["val_loss"] = 4.2 - it / 50
            f.write(json.dumps(rec) + "\n")
        f.write('{"iter": 999, "train_lo')  # a torn last line, as a kill leaves it
    T = len(PROBE_TOKENS)
    rng = np.random.default_rng(0)
    with open(path / "samples.jsonl", "w") as fs, open(path / "probe.jsonl", "w") as fp:
        for k, it in enumerate(evals):
            fs.write(json.dumps({"iter": it, "prompt": "ROMEO:", "text": f" sample <b>{it}</b>"}) + "\n")
            raw = np.tril(rng.random((2, 2, T, T))) + np.eye(T) * k  # grows more diagonal with training
            weights = (raw / raw.sum(-1, keepdims=True)).astype(np.float32)
            save_file({"attn_weights": weights}, str(path / "probe" / f"iter-{it:06d}.safetensors"))
            scores = {"previous_token": [[0.1 * k, 0.2], [0.3, 0.05 * k]], "first_token": [[0.5, 0.4], [0.3, 0.2]],
                      "induction": [[0.0, 0.1 * k], [0.2, 0.1]]}  # fmt: skip
            fp.write(json.dumps({"iter": it, "tokens": PROBE_TOKENS, "scores": scores}) + "\n")
    if checkpoint:
        tokenizer = get_tokenizer("char", "The cat sat on the mat. ROMEO: hello")
        torch.manual_seed(0)
        model = GPT(preset("tiny", vocab_size=tokenizer.vocab_size))
        save_checkpoint(path / "checkpoint", model, tokenizer, {"iter": max_iters, "seed": 7, "run_id": run_id})
    if state in ("finished", "stopped"):
        summary = {"final_val_loss": 2.2, "best_val_loss": 2.2, "iters": max_iters, "tokens_per_s": 5000.0,
                   "wall_s": 12.0, "device": "cpu", "n_params": 1234, "state": state}  # fmt: skip
        (path / "summary.json").write_text(json.dumps(summary))
    return path
