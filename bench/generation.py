"""The generation timeline, the sampling tree and the recorded queries and keys, measured. Prints JSON.

    .venv/bin/python bench/generation.py [--repeats 5] [--gpt2/--no-gpt2] [--qk-size/--no-qk-size]

- ``timeline``: server time of one step change on the Next token page (AppTest runs app.py's page as
  the server's script runner does, minus the websocket): Generate 20 tokens with the demo model, then
  press Next through every step and Back again; each ``run()`` is timed.
- ``tree``: ``sampling_tree`` of depth 3 and width 3 after the page's default sentence (and after a
  1,000-token text for GPT-2), through the server's compute slots (``ui.models.generation_step``),
  for the demo model and for a GPT-2-124M-shaped model with random weights (``make_gpt2_run`` of
  bench/explorer.py); the first call and the median of ``--repeats`` are reported.
- ``qk_size``: a real worker (``python -m gpt.train``) on the CPU preset (4 layers x 4 heads x 128
  dims, context 64, the app's 20 evaluation batches) for 8 steps with an evaluation after each: the
  9 evaluations of the preset's 2,000 steps at ``eval_interval`` 250, and its one checkpoint. The
  queries and keys' bytes are read from each probe file's safetensors header.
Other processes on the machine inflate every time: the 1-minute load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.explorer import demo_or_random, make_gpt2_run, summary, timed_clicks  # noqa: E402

DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


def time_timeline(model_id: str, n_new: int = 20) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(model=model_id, gen_n_new=str(n_new))
    at.switch_page("pages/next_token.py")
    at.run()
    t0 = time.perf_counter()
    at.button(key="nt_generate").click().run()
    generate_ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise RuntimeError(f"{model_id}: {at.exception[0].value}")
    times = timed_clicks(at, ["nt_step_next"] * (n_new - 1) + ["nt_step_back"] * (n_new - 1), model_id)
    return {
        "model": model_id,
        "generated": n_new,
        "generate_click_ms_incl_tree": round(generate_ms, 1),
        "step_change": summary(times),
    }


def time_tree(model_id: str, prompt: str, repeats: int) -> dict:
    from gpt import SamplingSettings
    from gpt.interpret import sampling_tree
    from gpt.models import load_model
    from ui.models import generation_step

    loaded = load_model(model_id)
    ids = loaded.tokenizer.encode(prompt)[-loaded.model.config.block_size :]
    times, calls = [], []
    for _ in range(1 + repeats):
        t0 = time.perf_counter()
        sampling_tree(loaded.model, ids, SamplingSettings(), 3, 3, generation_step, lambda d, m: calls.append(d))
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "model": model_id,
        "prompt_tokens": len(ids),
        "depth": 3,
        "width": 3,
        "model_calls": max(calls),
        "first_ms": round(times[0], 1),
        **summary(times[1:]),
    }


def qk_size() -> dict:
    from gpt.files import read_safetensors_header

    with tempfile.TemporaryDirectory(prefix="bench-qk-") as folder:
        run = Path(folder) / "cpu-preset"
        cmd = [
            sys.executable,
            "-m",
            "gpt.train",
            "--data",
            "shakespeare",
            "--eval-iters",
            "20",
            "--max-iters",
            "8",
            "--eval-interval",
            "1",
            "--threads",
            "1",
            "--out",
            str(run),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        total = sum(f.stat().st_size for f in run.rglob("*") if f.is_file())
        qk = 0
        files = sorted((run / "probe").glob("iter-*.safetensors"))
        for file in files:
            for name, (dtype, shape) in read_safetensors_header(file).items():
                if name in ("queries", "keys"):
                    size = DTYPE_BYTES[dtype]
                    for dim in shape:
                        size *= dim
                    qk += size
        shape = read_safetensors_header(files[-1])["queries"]
        checkpoint = sum(f.stat().st_size for f in (run / "checkpoint").rglob("*") if f.is_file())
    return {
        "run": "CPU preset (4 x 4 x 128, context 64), 9 evaluations, probe 'The quick brown fox jumps over the lazy dog'",
        "worker_s": round(seconds, 1),
        "evaluations": len(files),
        "queries_shape_and_dtype": [list(shape[1]), shape[0]],
        "folder_bytes": total,
        "checkpoint_bytes": checkpoint,
        "queries_and_keys_bytes": qk,
        "added_to_the_folder_without_them": round(qk / (total - qk), 4),
        "share_of_the_folder": round(qk / total, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gpt2", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--qk-size", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs:
        os.environ["ATTN_EXPLORER_RUNS_DIR"] = runs
        import torch

        load_before = os.getloadavg()[0]
        demo = demo_or_random()
        sentence = "The quick brown fox jumps over the lazy dog"
        trees = [time_tree(demo, sentence, args.repeats)]
        if args.gpt2:
            gpt2 = make_gpt2_run(Path(runs))
            trees.append(time_tree(gpt2, sentence, args.repeats))
            trees.append(time_tree(gpt2, " ".join(["the cat sat on the mat"] * 170), args.repeats))
        timeline = time_timeline(demo)
        result = {
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_average_1min_before": round(load_before, 2),
            "targets": {
                "timeline_step_change_ms": 300,
                "tree_demo_ms": 1000,
                "tree_gpt2_124m_ms": 5000,
                "qk_added_share": 0.10,
            },
            "timeline": timeline,
            "tree": trees,
        }
        if args.qk_size:
            result["qk_size"] = qk_size()
        result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
