"""A stand-in for ``python -m gpt.train`` that follows the run folder contract without torch.

Job manager tests use it to be fast: it starts in milliseconds, writes status/metrics lines, and
stops on SIGTERM with state "stopped". FAKE_STEP_S sets the seconds per step; FAKE_EXIT_CODE makes
it exit at once with that code and without writing a status (a crashing worker).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    if "FAKE_EXIT_CODE" in os.environ:
        print("error: fake failure for a test", file=sys.stderr)
        return int(os.environ["FAKE_EXIT_CODE"])
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    p.add_argument("--resume")
    p.add_argument("--max-iters", type=int, default=20)
    p.add_argument("--parent-pid", type=int)
    args, _unknown = p.parse_known_args()
    out = Path(args.out or args.resume)
    step_s = float(os.environ.get("FAKE_STEP_S", "0.02"))
    start = 0
    max_iters = args.max_iters
    if args.resume:
        status = json.loads((out / "status.json").read_text())
        start, max_iters = int(status["iter"]), int(status["max_iters"])
    else:
        write_json(
            out / "run.json",
            {
                "run_id": out.name,
                "created_at": time.time(),
                "argv": sys.argv[1:],
                "options": {"max_iters": max_iters},
                "device": "cpu",
            },
        )
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))

    def status(state: str, it: int) -> None:
        write_json(
            out / "status.json",
            {
                "state": state,
                "message": f"{state} at {it}",
                "iter": it,
                "max_iters": max_iters,
                "pid": os.getpid(),
                "updated_at": time.time(),
                "device": "cpu",
            },
        )

    it = start
    status("running", it)
    t0 = time.time()
    while it < max_iters:
        if stop["flag"]:
            status("stopped", it)
            return 0
        time.sleep(step_s)
        it += 1
        with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "iter": it,
                        "train_loss": 4.0 / it,
                        "lr": 1e-3,
                        "tokens_per_s": 1000.0,
                        "elapsed_s": time.time() - t0,
                    }
                )
                + "\n"
            )
        status("running", it)
    write_json(out / "summary.json", {"final_val_loss": 1.5, "best_val_loss": 1.5, "iters": it, "state": "finished"})
    status("finished", it)
    return 0


if __name__ == "__main__":
    sys.exit(main())
