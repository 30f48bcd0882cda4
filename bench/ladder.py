"""Train every rung of the architecture ladder (gpt/labs/ladder.py) with every seed; write the lab's results.

    flock /tmp/heavy.lock nice -n 10 .venv/bin/python bench/ladder.py --seeds 3 --out assets/labs/ladder.json

Each run is the project's own training command, ``python -m gpt.train`` with the rung's settings, in a
child process whose wall time is the rung's "seconds" (start-up, evaluations and checkpoints included).
Afterwards its checkpoint is scored on the whole training and validation splits (every token once, in
non-overlapping windows: no sampling noise), and the first seed's recorded loss curve is kept. Prints a
summary table as JSON lines; the file is small (curves only, no weights). ``--rungs a,b`` trains only
those rungs again and keeps the others from the existing file (a run slowed by another job, say).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gpt.checkpoint import load_checkpoint  # noqa: E402
from gpt.labs import ladder, ladder_results  # noqa: E402
from gpt.runs import read_metrics  # noqa: E402
from gpt.train.data import Splits, load_splits  # noqa: E402
from gpt.train.device import cpu_model_name, usable_cores  # noqa: E402
from gpt.train.evaluate import whole_split_loss  # noqa: E402

EVALUATION = (
    "whole split: every token of the training split (90 %) and of the validation split (the last 10 %) "
    "predicted once, in non-overlapping windows of the context length, by the checkpoint after the last step"
)


def train_once(rung: ladder.Rung, seed: int, out: Path) -> float:
    """Run the training command; its wall time in seconds."""
    command = [sys.executable, "-m", "gpt.train", *ladder.train_argv(rung, seed, out)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def score(out: Path, splits: Splits, seed: int, seconds: float) -> tuple[ladder_results.SeedResult, int]:
    loaded = load_checkpoint(out / "checkpoint")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    result = ladder_results.SeedResult(
        seed=seed,
        train_loss=round(whole_split_loss(loaded.model, splits.train), 5),
        val_loss=round(whole_split_loss(loaded.model, splits.val), 5),
        seconds=round(seconds, 2),
        train_time_s=round(float(summary["train_time_s"]), 2),
    )
    return result, loaded.model.num_params()


def curve_of(out: Path, seed: int) -> ladder_results.Curve:
    metrics = read_metrics(out, max_points=100_000)
    return ladder_results.Curve(
        seed,
        tuple(zip(metrics.train_iters, metrics.train_loss)),
        tuple(zip(metrics.val_iters, metrics.val_loss)),
    )


def run_rung(rung: ladder.Rung, seeds: list[int], splits: Splits, work: Path) -> ladder_results.RungResult:
    results, curve, n_params = [], None, 0
    for seed in seeds:
        out = work / f"{rung.rung_id}-s{seed}"
        seconds = train_once(rung, seed, out)
        result, n_params = score(out, splits, seed, seconds)
        results.append(result)
        curve = curve or curve_of(out, seed)
        shutil.rmtree(out, ignore_errors=True)
        print(json.dumps({"rung": rung.rung_id, **vars(result)}), flush=True)
    assert curve is not None
    return ladder_results.RungResult(rung, ladder.train_command(rung, seeds[0]), n_params, tuple(results), curve)


def machine() -> dict[str, object]:
    return {
        "cpu": cpu_model_name() or platform.processor() or "unknown",
        "cores": usable_cores(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=len(ladder.SEEDS), help="how many of the lab's seeds")
    parser.add_argument("--out", type=Path, default=ladder_results.RESULTS_PATH, help="the JSON file to write")
    parser.add_argument(
        "--rungs", help="comma-separated rung ids to train again; the others are kept from --out (default: all)"
    )
    args = parser.parse_args()
    if not 1 <= args.seeds <= len(ladder.SEEDS):
        parser.error(f"--seeds must be between 1 and {len(ladder.SEEDS)}")
    seeds = list(ladder.SEEDS[: args.seeds])
    again = args.rungs.split(",") if args.rungs else list(ladder.RUNG_IDS)
    unknown = sorted(set(again) - set(ladder.RUNG_IDS))
    if unknown:
        parser.error(f"unknown rung(s) {', '.join(unknown)}; the rungs are {', '.join(ladder.RUNG_IDS)}")
    keep = [r for r in ladder.RUNG_IDS if r not in again]
    kept = {r.rung.rung_id: r for r in ladder_results.load_results(args.out).rungs} if keep else {}
    budget = ladder.BUDGET  # every rung reads the same corpus with the same tokenizer and context
    tokenizer, splits, _ = load_splits(budget.data, budget.tokenizer, budget.block_size)
    with tempfile.TemporaryDirectory(prefix="ladder-") as work:
        rungs = tuple(
            run_rung(rung, seeds, splits, Path(work)) if rung.rung_id in again else kept[rung.rung_id]
            for rung in ladder.RUNGS
        )
    results = ladder_results.LadderResults(rungs, machine(), EVALUATION, tokenizer.vocab_size)
    ladder_results.write_results(results, args.out)
    for r in rungs:
        row = {"rung": r.rung.rung_id, "params": r.n_params, "val": r.val.text(), "train": r.train.text()}
        print(json.dumps({**row, "seconds": r.seconds.text()}))


if __name__ == "__main__":
    main()
