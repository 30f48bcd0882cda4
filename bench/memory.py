"""The server's memory under long sentences on a GPT-2-124M-shaped model, and KV-cached generation. Prints JSON.

    python bench/memory.py [--sentences 12] [--tokens 1000] [--new-tokens 50] [--uncached-tokens 50]

In this one process, as the server does it: a run whose checkpoint has GPT-2 small's exact
shape (124M random weights, context 1,024) is written to a temporary runs folder, and
``ui.models.get_trace`` (the cache every page uses) traces ``--sentences`` different random
~``--tokens``-token sentences. After each: the resident memory (VmRSS), the bytes the trace cache
holds and its budget. Then generation after a ``--tokens`` prompt: seconds per token with the
KV cache (``gpt.generate``) and without it (the loop it replaced: the whole context through
``forward`` every step), whether both drew the same tokens, and the KV cache past the
context (a full 1,024-token prompt, where every step recomputes the window to stay exact).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUN = "gpt2-shaped"
WORDS = "the of and to in is was that for on with as by at from his her they it be this which or had not".split()


def rss_mb() -> float:
    """This process's resident memory (psutil may be missing: /proc is enough on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
    return names[0] if names else "unknown"


def make_run(runs_dir: Path) -> str:
    import torch

    from gpt import GPT, preset, save_checkpoint
    from gpt.tokenizers import GPT2Tokenizer

    torch.manual_seed(0)
    save_checkpoint(runs_dir / RUN / "checkpoint", GPT(preset("gpt2")).eval(), GPT2Tokenizer(), {"iter": 0})
    (runs_dir / RUN / "status.json").write_text(json.dumps({"state": "finished", "iter": 0, "max_iters": 0}))
    return f"run:{RUN}"


def sentence_ids(tokenizer, rng: random.Random, n_tokens: int) -> tuple[int, ...]:
    words = [rng.choice(WORDS) + rng.choice(["", "s", "ed", "ly"]) for _ in range(n_tokens)]
    return tuple(tokenizer.encode(" ".join(words))[:n_tokens])


def uncached_generate(model, prompt: list[int], n: int, seed: int) -> list[int]:
    """generate()'s loop before the KV cache: every step runs the whole cropped context through forward."""
    import torch

    from gpt import SamplingSettings, next_token_probs

    settings = SamplingSettings(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            logits, _ = model(torch.tensor([ids[-model.config.block_size :]]))
            probs = next_token_probs(logits[0, -1], settings)
            ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    return ids[len(prompt) :]


def seconds_per_token(run, n: int) -> tuple[float, list[int]]:
    start = time.perf_counter()
    tokens = run()
    return round((time.perf_counter() - start) / max(1, n), 4), tokens


class StepClock:
    """A ``step_guard`` that times each generation step (the first one reads the whole prompt)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    @contextmanager
    def __call__(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds.append(time.perf_counter() - start)


def trace_memory(model_id: str, tokenizer, n_sentences: int, n_tokens: int) -> list[dict]:
    from ui import models

    rng = random.Random(0)
    after = []
    for i in range(n_sentences):
        ids = sentence_ids(tokenizer, rng, n_tokens)
        start = time.perf_counter()
        trace = models.get_trace(model_id, ids)
        seconds = time.perf_counter() - start
        row = {"sentence": i + 1, "tokens": len(ids), "trace_mb": round(trace.nbytes / models.MB, 1)}
        del trace  # a page drops its trace when its script run ends
        row |= {"trace_s": round(seconds, 2), "cache_mb": round(models.TRACE_CACHE.nbytes / models.MB, 1)}
        row |= {"cached_traces": len(models.TRACE_CACHE), "rss_mb": round(rss_mb(), 1)}
        after.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return after


def generation_speed(loaded, tokenizer, n_tokens: int, n_new: int, n_uncached: int) -> dict:
    from gpt import SamplingSettings, generate

    model = loaded.model
    prompt = list(sentence_ids(tokenizer, random.Random(1), n_tokens))
    prompt = prompt[: model.config.block_size - n_new]  # within the context: every step reuses the cache
    clock = StepClock()
    cached_s, steps = seconds_per_token(
        lambda: generate(model, prompt, n_new, SamplingSettings(seed=5), step_guard=clock), n_new
    )
    plain_s, plain = seconds_per_token(lambda: uncached_generate(model, prompt, n_uncached, 5), n_uncached)
    full = list(sentence_ids(tokenizer, random.Random(2), model.config.block_size))
    past_s, _ = seconds_per_token(lambda: generate(model, full, 10, SamplingSettings(seed=5)), 10)
    return {
        "prompt_tokens": len(prompt),
        "new_tokens": n_new,
        "kv_cache_s_per_token": cached_s,  # all steps, the prompt's first pass included
        "kv_cache_first_step_s": round(clock.seconds[0], 3),  # reads the whole prompt once
        "kv_cache_later_step_s": round(sum(clock.seconds[1:]) / max(1, len(clock.seconds) - 1), 4),
        "uncached_s_per_token": plain_s,
        "uncached_tokens_timed": n_uncached,
        "speedup": round(plain_s / cached_s, 1),
        "same_tokens": [s.token_id for s in steps][:n_uncached] == plain,
        "past_context_s_per_token": past_s,  # a full-context prompt: each step recomputes the window (exact)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--new-tokens", type=int, default=50)
    parser.add_argument("--uncached-tokens", type=int, default=50)
    args = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    os.environ["ATTN_EXPLORER_RUNS_DIR"] = str(runs)  # before the app's modules read it
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # no runtime here: st.spinner only warns
    from gpt.tokenizers import GPT2Tokenizer
    from ui import models

    tokenizer = GPT2Tokenizer()
    start_mb = rss_mb()
    model_id = make_run(runs)
    loaded = models.get_model(model_id)
    result = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": __import__("torch").get_num_threads(),
        "physical_memory_mb": round(models.physical_memory_bytes() / models.MB),
        "trace_budget_mb": round(models.TRACE_CACHE.budget_bytes / models.MB),
        "model_budget_mb": round(models.MODEL_CACHE.budget_bytes / models.MB),
        "model_mb": round(models.model_bytes(loaded) / models.MB, 1),
        "rss_mb_at_start": round(start_mb, 1),
        "rss_mb_model_loaded": round(rss_mb(), 1),
        "estimate_mb_per_trace": round(models.trace_estimate(loaded.model, args.tokens) / models.MB, 1),
    }
    result["after_each_sentence"] = trace_memory(model_id, tokenizer, args.sentences, args.tokens)
    result["rss_mb_peak"] = max(r["rss_mb"] for r in result["after_each_sentence"])
    result["generation"] = generation_speed(loaded, tokenizer, args.tokens, args.new_tokens, args.uncached_tokens)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
