"""Training on the CPU against nanoGPT's own train.py, and the presets' own figures; prints one JSON.

    .venv/bin/python bench/train.py --nanogpt /tmp/nanogpt \
        [--data ../shared/datasets/tinyshakespeare.txt] [--rounds 2] [--presets cpu-demo,char-10min]

``--nanogpt`` is a copy of github.com/karpathy/nanoGPT fetched for the benchmark (never committed);
it is copied into a temporary folder with the corpus, so nothing is written into either. Every
training run is its own process, one at a time, and the two sides alternate which goes first in
each round, so a burst of someone else's work hurts both.

1. ``machine``: the CPU's name and flags, and its float32 matmul rate (GFLOP/s, all threads; measured
   before and after, the higher kept).
2. ``throughput``: the standard CPU baby GPT (char-level, 4 layers x 4 heads x 128, block 64, batch 12,
   lr 1e-3, dropout 0), nanoGPT's train.py (float32, no compile) against ``python -m gpt.train`` with
   its defaults (threads and dtype "auto": measured now, with a fresh choices file). Tokens/s are the
   median step after the first 10 % of steps; ``fraction_of_matmul_rate`` is ours x FLOPs per token
   / the measured matmul rate.
3. ``time_to_quality``: nanoGPT's baby config for its 2000 iterations, with its own evaluation on 200
   batches, against ``--preset cpu-demo`` evaluated every 100 steps on 200 batches. nanoGPT's
   training time is the sum of its step times (the two steps that also evaluate count as the median
   step); ours is the trainer's step time up to the first evaluation at or below nanoGPT's final
   validation loss.
4. ``presets``: each named preset as the app runs it (the bundled corpus, its own evaluation), its wall
   time from start to exit, and its validation loss over the whole validation split.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.checkpoint import load_checkpoint  # noqa: E402
from gpt.config import GPTConfig  # noqa: E402
from gpt.model import GPT  # noqa: E402
from gpt.train.data import load_splits  # noqa: E402
from gpt.train.device import cpu_model_name  # noqa: E402
from gpt.train.evaluate import whole_split_loss  # noqa: E402
from gpt.train.presets import PRESETS_BY_COMMAND_NAME  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "tinyshakespeare.txt"
BATCH, BLOCK = 12, 64
SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 128}
NANO_QUALITY_ITERS = 2000  # nanoGPT's baby config (its README's CPU command)
FLAGS_SHOWN = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma")


# ----------------------------------------------------------------- the machine


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    present = set(line.split(":", 1)[-1].split())
    return [f for f in FLAGS_SHOWN if f in present]


def matmul_gflops(threads: int, n: int = 1024, seconds: float = 1.5) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def flops_per_token(vocab_size: int) -> float:
    """6 N (forward + backward of every weight but the position table) + the attention matmuls."""
    cfg = GPTConfig(vocab_size=vocab_size, block_size=BLOCK, **SHAPE)
    return 6 * GPT(cfg).num_params(non_embedding=True) + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size


# ----------------------------------------------------------------- the two sides


def kept(values: list[float]) -> list[float]:
    return values[max(1, len(values) // 10) :]


def nanogpt_run(work: Path, iters: int, eval_iters: int) -> tuple[list[float], float | None]:
    """Step times (s) of one nanoGPT baby-GPT run and its final validation loss (None: not evaluated)."""
    args = [f"--{k}={v}" for k, v in SHAPE.items()]
    args += [f"--batch_size={BATCH}", f"--block_size={BLOCK}", "--dropout=0.0", "--learning_rate=1e-3"]
    args += [f"--max_iters={iters}", f"--lr_decay_iters={iters}", f"--eval_interval={iters}"]
    args += [f"--eval_iters={eval_iters}", "--log_interval=1", "--device=cpu", "--compile=False"]
    args += ["--always_save_checkpoint=False"]
    out = subprocess.run(
        [sys.executable, "train.py", "config/train_shakespeare_char.py", *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    times = [float(m) / 1000 for m in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", out, re.M)]
    finals = re.findall(rf"^step {iters}: train loss [\d.]+, val loss ([\d.]+)", out, re.M)
    return times, (float(finals[-1]) if finals else None)


def nanogpt_train_time(step_times: list[float]) -> float:
    """Sum of the step times; the first and last step also evaluate, so they count as the median step."""
    middle = step_times[1:-1]
    return sum(middle) + 2 * statistics.median(middle)


def ours_run(args: list[str], out_dir: Path) -> tuple[list[dict], dict, float]:
    """Run ``python -m gpt.train`` with a fresh speed-choices file: its metrics, run.json, wall time."""
    env = {**os.environ, "ATTN_EXPLORER_SPEED_CACHE": str(out_dir.parent / f"{out_dir.name}-choices.json")}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gpt.train", *args, "--out", str(out_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    wall = time.perf_counter() - start
    metrics = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    return metrics, json.loads((out_dir / "run.json").read_text()), wall


def baby_args(data: Path, iters: int) -> list[str]:
    args = ["--data", str(data), "--batch-size", str(BATCH), "--block-size", str(BLOCK)]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in SHAPE.items()]
    return args + ["--lr", "1e-3", "--dropout", "0", "--max-iters", str(iters), "--eval-interval", str(iters)]


def step_rates(metrics: list[dict]) -> list[float]:
    return [float(m["tokens_per_s"]) for m in metrics if "tokens_per_s" in m and "val_loss" not in m]


def train_time_at(record: dict, tokens_per_iter: int) -> float:
    """The trainer's step time up to this record: its tokens over its running tokens/s."""
    return record["iter"] * tokens_per_iter / record["tokens_per_s"] if record["tokens_per_s"] else 0.0


# ----------------------------------------------------------------- the sections


def throughput(work: Path, data: Path, tmp: Path, rounds: int, iters: int) -> dict:
    nano, ours, choices = [], [], []
    for index in range(rounds):
        for side in ("nano", "ours") if index % 2 == 0 else ("ours", "nano"):
            if side == "nano":
                times, _ = nanogpt_run(work, iters, eval_iters=1)
                nano.append(BATCH * BLOCK / statistics.median(kept(times)))
            else:
                args = baby_args(data, iters) + ["--eval-iters", "1", "--log-interval", "1", "--sample-tokens", "8"]
                metrics, run, _ = ours_run(args, tmp / f"throughput-{index}")
                ours.append(statistics.median(kept(step_rates(metrics))))
                choices.append(run["options"].get("speed_choice", ""))
    return {
        "steps_per_round": iters,
        "nanogpt_tokens_per_s": [round(r) for r in nano],
        "ours_defaults_tokens_per_s": [round(r) for r in ours],
        "ours_speed_choice": choices,
        "ours_over_nanogpt": round(statistics.median(ours) / statistics.median(nano), 3),
    }


def time_to_quality(work: Path, data: Path, tmp: Path, rounds: int) -> dict:
    preset = PRESETS_BY_COMMAND_NAME["cpu-demo"].settings
    tokens_per_iter = preset.batch_size * preset.block_size
    nano_rows, ours_rows = [], []
    for index in range(rounds):
        for side in ("nano", "ours") if index % 2 == 0 else ("ours", "nano"):
            if side == "nano":
                times, val = nanogpt_run(work, NANO_QUALITY_ITERS, eval_iters=200)
                nano_rows.append({"train_s": round(nanogpt_train_time(times), 2), "val_loss": val})
            else:
                args = ["--preset", "cpu-demo", "--data", str(data), "--eval-iters", "200", "--eval-interval", "100"]
                metrics, _, wall = ours_run(args + ["--sample-tokens", "8"], tmp / f"quality-{index}")
                evals = [m for m in metrics if "val_loss" in m]
                curve = [
                    (round(train_time_at(m, tokens_per_iter), 2), m["iter"], round(m["val_loss"], 4)) for m in evals
                ]
                ours_rows.append({"curve_train_s_iter_val": curve, "wall_s": round(wall, 1)})
    target = statistics.median(r["val_loss"] for r in nano_rows)
    nano_time = statistics.median(r["train_s"] for r in nano_rows)
    reached = []
    for row in ours_rows:
        hit = next(((s, it, v) for s, it, v in row["curve_train_s_iter_val"] if v <= target), None)
        row["reached_target_at"] = {"train_s": hit[0], "iter": hit[1], "val_loss": hit[2]} if hit else None
        reached.append(hit[0] if hit else float("inf"))
    ours_time = statistics.median(reached)
    return {
        "target_val_loss": target,
        "nanogpt": nano_rows,
        "ours_cpu_demo": ours_rows,
        "nanogpt_train_s": nano_time,
        "ours_train_s_to_target": ours_time,
        "ours_over_nanogpt_time": round(ours_time / nano_time, 3),
    }


def preset_figures(names: list[str], tmp: Path, keep: Path | None) -> dict:
    out = {}
    for name in names:
        run_dir = tmp / f"preset-{name}"
        metrics, run, wall = ours_run(["--preset", name], run_dir)
        if keep is not None:  # e.g. to look for an induction head (bench/demo_models.py) or export it
            shutil.copytree(run_dir, keep / f"preset-{name}", dirs_exist_ok=True)
        loaded = load_checkpoint(run_dir / "checkpoint")
        _, splits, _ = load_splits("shakespeare", run["options"]["tokenizer"], loaded.model.config.block_size)
        summary = json.loads((run_dir / "summary.json").read_text())
        out[name] = {
            "wall_s": round(wall, 1),
            "train_s": round(summary["train_time_s"], 1),
            "iters": summary["iters"],
            "final_val_loss_estimate": round(summary["final_val_loss"], 4),
            "whole_val_split_loss": round(whole_split_loss(loaded.model, splits.val), 4),
            "tokens_per_s": round(summary["tokens_per_s"]),
            "speed_choice": run["options"].get("speed_choice", ""),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nanogpt", type=Path, required=True, help="a copy of karpathy/nanoGPT")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each comparison")
    parser.add_argument("--throughput-iters", type=int, default=300)
    parser.add_argument("--presets", default="cpu-demo,char-10min", help="presets to run as the app does ('' none)")
    parser.add_argument("--keep", type=Path, help="copy the presets' run folders here")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out: throughput,quality")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    load_before = os.getloadavg()
    cores = os.cpu_count() or 1
    rate = matmul_gflops(cores)
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        work = tmp / "nanogpt"
        shutil.copytree(args.nanogpt, work, ignore=shutil.ignore_patterns(".git"))
        shutil.copy(args.data, work / "data" / "shakespeare_char" / "input.txt")
        subprocess.run(
            [sys.executable, "prepare.py"], cwd=work / "data" / "shakespeare_char", check=True, capture_output=True
        )
        vocab = len(set(args.data.read_text(encoding="utf-8")))
        if "throughput" not in skip:
            result["throughput"] = throughput(work, args.data, tmp, args.rounds, args.throughput_iters)
        if "quality" not in skip:
            result["time_to_quality"] = time_to_quality(work, args.data, tmp, args.rounds)
        result["presets"] = preset_figures([p for p in args.presets.split(",") if p], tmp, args.keep)
    rate = max(rate, matmul_gflops(cores))
    if "throughput" in result:
        ours = statistics.median(result["throughput"]["ours_defaults_tokens_per_s"])
        result["throughput"]["fraction_of_matmul_rate"] = round(ours * flops_per_token(vocab) / 1e9 / rate, 3)
    machine = {
        "cpu": cpu_model_name() or platform.processor(),
        "flags": cpu_flags(),
        "cores": cores,
        "torch": torch.__version__,
        "matmul_gflops_fp32_all_threads": round(rate, 1),
        "flops_per_token_baby_gpt": flops_per_token(vocab),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps({"machine": machine, **result}, indent=1))


if __name__ == "__main__":
    main()
