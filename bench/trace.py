"""Time and peak memory of a full trace vs input length. Prints JSON.

    python bench/trace.py [--repeats 5] [--models shakespeare-char,gpt2]

Each (model, length) runs in a fresh subprocess so that the peak resident memory it
reports (above the model's own weights, measured after building the model) is its own.
"Full trace" = ``model.trace(ids)`` plus the last position's logits: embeddings, every layer's X/Q/K/V/context/concat/
projection/residuals (all positions' logits are computed on first use); T x T matrices are computed per head on demand,
so we also time materialising every head's weights (``all_weights_ms``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LENGTHS = {"shakespeare-char": [8, 16, 32, 64], "gpt2": [8, 64, 256, 512, 1024]}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(model_name: str, length: int, repeats: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)

    sys.path.insert(0, str(ROOT))
    from gpt import GPT, preset

    torch.manual_seed(0)
    vocab = 65 if model_name == "shakespeare-char" else 50257
    model = GPT(preset(model_name, vocab_size=vocab)).eval()
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    ids = torch.randint(0, vocab, (length,)).tolist()
    model.trace(ids[:8])  # warm-up (allocator, kernels)
    base_rss = _rss_mb()
    times, weight_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        trace = model.trace(ids)
        trace.next_token_probs()
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        for layer in trace.layers:
            layer.attn_weights()
        weight_times.append((time.perf_counter() - t0) * 1000)
        del trace
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "model": model_name,
        "tokens": length,
        "trace_ms_median": round(statistics.median(times), 2),
        "all_weights_ms_median": round(statistics.median(weight_times), 2),
        "weights_mb": round(weights_mb, 1),
        "peak_above_model_mb": round(max(0.0, peak_mb - base_rss), 1),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", default="shakespeare-char,gpt2")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app's server uses 1)")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "LENGTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.repeats, args.threads)))
        return
    results = []
    for name in args.models.split(","):
        for length in LENGTHS[name]:
            cmd = [sys.executable, __file__, "--one", name, str(length), "--repeats", str(args.repeats)]
            cmd += ["--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "trace", "results": results}, indent=1))


if __name__ == "__main__":
    main()
