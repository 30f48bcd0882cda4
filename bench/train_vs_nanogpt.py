"""Our training command with its defaults against nanoGPT's own train.py, tokens/s; prints JSON.

    .venv/bin/python bench/train_vs_nanogpt.py --nanogpt /tmp/nanogpt \
        [--data ../shared/datasets/tinyshakespeare.txt] [--iters 300] [--rounds 2]

``--nanogpt`` is a copy of github.com/karpathy/nanoGPT fetched for the benchmark (never committed);
it is copied again into a temporary folder, with the corpus, so nothing is written into either.
Both sides train the standard CPU baby GPT (char-level, 4 layers x 4 heads x 128, block 64,
batch 12, lr 1e-3, dropout 0, float32 on the CPU for nanoGPT) in their own processes, one after
the other, alternating which goes first in each round. nanoGPT's step times come from its log
("time X ms"), ours from metrics.jsonl (``tokens_per_s``); the first 10 % of steps are left out on
both sides (allocation and kernel warm-up). Ours runs with its defaults: threads and dtype "auto",
which it measures (gpt.train.tuning) with a fresh choices file, so the choice is made here, now.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.train.device import cpu_model_name  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "tinyshakespeare.txt"
BATCH, BLOCK = 12, 64
SHAPE = {"n_layer": 4, "n_head": 4, "n_embd": 128}


def kept(values: list[float]) -> list[float]:
    return values[max(1, len(values) // 10) :]


def nanogpt_round(work: Path, iters: int) -> float:
    """Median tokens/s of one nanoGPT run."""
    args = [f"--{k}={v}" for k, v in SHAPE.items()]
    args += [f"--batch_size={BATCH}", f"--block_size={BLOCK}", "--dropout=0.0", "--learning_rate=1e-3"]
    args += [f"--max_iters={iters}", f"--lr_decay_iters={iters}", f"--eval_interval={iters * 10}", "--eval_iters=1"]
    args += ["--log_interval=1", "--device=cpu", "--compile=False", "--always_save_checkpoint=False"]
    out = subprocess.run(
        [sys.executable, "train.py", "config/train_shakespeare_char.py", *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    times_ms = [float(m) for m in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", out.stdout, re.M)]
    return BATCH * BLOCK / (statistics.median(kept(times_ms)) / 1000)


def ours_round(data: Path, out_dir: Path, iters: int) -> tuple[float, str]:
    """Median tokens/s of one run of ``python -m gpt.train`` with its defaults, and its speed choice."""
    args = ["--data", str(data), "--out", str(out_dir), "--batch-size", str(BATCH), "--block-size", str(BLOCK)]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in SHAPE.items()]
    args += ["--lr", "1e-3", "--dropout", "0", "--max-iters", str(iters), "--eval-interval", str(iters)]
    args += ["--eval-iters", "1", "--log-interval", "1", "--sample-tokens", "8"]
    env = {**os.environ, "ATTN_EXPLORER_SPEED_CACHE": str(out_dir.parent / f"{out_dir.name}-choices.json")}
    subprocess.run([sys.executable, "-m", "gpt.train", *args], cwd=ROOT, env=env, capture_output=True, check=True)
    rates = []
    for line in (out_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "tokens_per_s" in record and "val_loss" not in record:
            rates.append(float(record["tokens_per_s"]))
    choice = json.loads((out_dir / "run.json").read_text())["options"].get("speed_choice", "")
    return statistics.median(kept(rates)), choice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nanogpt", type=Path, required=True, help="a copy of karpathy/nanoGPT")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-nanogpt-") as tmp:
        work = Path(tmp) / "nanogpt"
        shutil.copytree(args.nanogpt, work, ignore=shutil.ignore_patterns(".git"))
        shutil.copy(args.data, work / "data" / "shakespeare_char" / "input.txt")
        subprocess.run(
            [sys.executable, "prepare.py"], cwd=work / "data" / "shakespeare_char", check=True, capture_output=True
        )
        nano, ours, choices = [], [], []
        for round_index in range(args.rounds):
            order = ("nano", "ours") if round_index % 2 == 0 else ("ours", "nano")
            for side in order:
                if side == "nano":
                    nano.append(nanogpt_round(work, args.iters))
                else:
                    rate, choice = ours_round(args.data, Path(tmp) / f"ours-{round_index}", args.iters)
                    ours.append(rate)
                    choices.append(choice)
    print(
        json.dumps(
            {
                "measure": "tokens/s, median over steps after the first 10 %, per round",
                "cpu": cpu_model_name() or platform.processor(),
                "cpus": os.cpu_count(),
                "iters_per_round": args.iters,
                "nanogpt_tokens_per_s": [round(r) for r in nano],
                "ours_defaults_tokens_per_s": [round(r) for r in ours],
                "ours_speed_choice": choices,
                "ours_over_nanogpt": round(statistics.median(ours) / statistics.median(nano), 3),
                "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
