"""Time of one dashboard refresh's ``read_metrics`` as a run's metrics.jsonl grows. Prints JSON.

    python bench/metrics_read.py [--sizes 1000 100000 1000000] [--refreshes 20]

How it is measured: for each size a metrics.jsonl of that many lines (the worker's own line format)
is written to a temporary folder. "first_read_s" is the first ``read_metrics`` in this process (what
the first viewer of a run pays once). Then, ``--refreshes`` times, 10 lines are appended (a live run
between two 2 s refreshes) and ``read_metrics`` is timed again: "refresh_median_s" is the median of
those. "full_reparse_s" is what every refresh cost before the reads became incremental: parsing the
whole file (``read_jsonl``). The ratio compares the largest file's refresh with the smallest's: near 1
means a million-line run costs a refresh what a thousand-line run does.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpt.runs import read_metrics  # noqa: E402
from gpt.runs.layout import read_jsonl  # noqa: E402

CHART_POINTS = 400  # what the live dashboard asks for


def line(i: int) -> str:
    record = {"iter": i, "train_loss": 4.0 - i * 1e-6, "lr": 6e-4, "tokens_per_s": 51234.5, "elapsed_s": i * 0.05}
    if i % 250 == 0:
        record["val_loss"] = 4.1 - i * 1e-6
    return json.dumps(record) + "\n"


def measure(folder: Path, lines: int, refreshes: int) -> dict[str, float | int]:
    file = folder / "metrics.jsonl"
    with open(file, "w") as f:
        f.writelines(line(i) for i in range(lines))
    t0 = time.perf_counter()
    read_metrics(folder, max_points=CHART_POINTS)
    first = time.perf_counter() - t0
    times = []
    next_iter = lines
    for _ in range(refreshes):
        with open(file, "a") as f:
            f.writelines(line(i) for i in range(next_iter, next_iter + 10))
        next_iter += 10
        t0 = time.perf_counter()
        curves = read_metrics(folder, max_points=CHART_POINTS)
        times.append(time.perf_counter() - t0)
    assert curves.train_iters[-1] == next_iter - 1
    t0 = time.perf_counter()
    read_jsonl(file)
    full = time.perf_counter() - t0
    return {
        "lines": lines,
        "file_mb": round(file.stat().st_size / 1e6, 1),
        "first_read_s": round(first, 4),
        "refresh_median_s": round(statistics.median(times), 6),
        "full_reparse_s": round(full, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()
    results = []
    for lines in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(Path(tmp), lines, args.refreshes))
    small, large = results[0], results[-1]
    report = {
        "cpu": platform.processor() or platform.machine(),
        "chart_points": CHART_POINTS,
        "results": results,
        "refresh_ratio_largest_to_smallest": round(large["refresh_median_s"] / small["refresh_median_s"], 2),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
