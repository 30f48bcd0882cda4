"""Server time to re-render the attention page after the sentence changes, and after each step
change (the Next button a presenter clicker presses), with and without presenter mode. Prints JSON.

    python bench/explorer.py [--sentences 12] [--gpt2/--no-gpt2]

Step changes: the page is opened on step 1 with a sentence (traced once), then Next is pressed
through all 11 steps and back, and each ``run()`` is timed; the same walk without presenter mode
is the anchor the presenter figures are compared with (``presenter_over_plain``).

How it is measured: Streamlit's AppTest runs the real app script (app.py -> sidebar ->
pages/attention.py) in this process, exactly as the server's script runner does, minus
the websocket. For each model the page is opened once (loading the model, warming caches),
then the sentence is changed to N different sentences and each ``run()`` is timed: that is
the tokenizing, the (uncached, new text) trace through every layer, the per-head steps and
building the figures and tables. Medians are reported per step shown, because the step
decides which matrix is drawn: "x" draws a T x C matrix, "attn_weights" a T x T one.

Models: the shipped demo model when present (else the untrained char model of the same
shape), and a GPT-2-124M-shaped model with random weights saved as a temporary run
(``run:bench-gpt2``) so the app loads it through its normal catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "The quick brown fox jumps over the lazy dog",
    "To be, or not to be, that is the question",
    "Attention lets every token look back at the others",
    "A teacher steps through the scores one at a time",
    "Now is the winter of our discontent made glorious",
    "Queries ask, keys answer, and values carry the news",
    "The mask hides every word that has not happened yet",
    "Softmax turns a row of scores into a row of weights",
    "Friends, Romans, countrymen, lend me your ears today",
    "Small models learn the shape of Shakespeare quickly",
    "Each head may learn a different habit of looking",
    "What light through yonder window breaks, it is the east",
    "Dividing by the root of d keeps the scores moderate",
    "All the world's a stage, and all the men and women",
]
STEPS_TIMED = ("attn_weights", "x")


def make_gpt2_run(runs: Path) -> str:
    """Save a randomly initialised GPT-2-small-shaped model as run 'bench-gpt2'."""
    import torch

    from gpt import GPT, preset, save_checkpoint
    from gpt.tokenizers import GPT2Tokenizer

    torch.manual_seed(0)
    model = GPT(preset("gpt2")).eval()
    save_checkpoint(runs / "bench-gpt2" / "checkpoint", model, GPT2Tokenizer(), extra={"seed": 0, "iter": 0})
    return "run:bench-gpt2"


def demo_or_random() -> str:
    from gpt.models import available_models

    ids = [e.model_id for e in available_models()]
    return "demo:shakespeare-char" if "demo:shakespeare-char" in ids else "random:shakespeare-char"


def time_page(model_id: str, step_id: str, sentences: list[str]) -> dict:
    from streamlit.testing.v1 import AppTest

    from gpt.interpret.explain import STEP_IDS

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["model"] = model_id
    at.query_params["step"] = str(STEP_IDS.index(step_id))
    at.query_params["sentence"] = "warm up"
    at.switch_page("pages/attention.py")
    t0 = time.perf_counter()
    at.run()
    first_ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise RuntimeError(f"{model_id}: {at.exception[0].value}")
    times = []
    # A new text per (model, step) pair: the trace cache is shared by the whole process, and a
    # sentence timed before would be served from it instead of being traced again.
    for sentence in (f"{s} [{step_id}]" for s in sentences):
        box = at.text_area(key="w_sentence")
        box.input(sentence)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"{model_id}: {at.exception[0].value}")
    return {
        "model": model_id,
        "step": step_id,
        "runs": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        "first_open_ms_incl_model_load": round(first_ms, 1),
    }


def summary(times_ms: list[float]) -> dict:
    """Runs, median, p90 and max of some timings in ms (the shape every bench here prints)."""
    ordered = sorted(times_ms)
    return {
        "runs": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def timed_clicks(at, keys: list[str], what: str) -> list[float]:
    """Click the buttons ``keys`` one after another; each click's ``run()`` in ms."""
    times = []
    for key in keys:
        button = at.button(key=key)
        t0 = time.perf_counter()
        button.click().run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"{what}: {at.exception[0].value}")
    return times


def time_step_changes(model_id: str, presenting: bool) -> dict:
    """Median server time of one step change (Next, then Back) on the attention page."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(model=model_id, step="1", sentence=SENTENCES[1])
    if presenting:
        at.query_params["present"] = "1"
    at.switch_page("pages/attention.py")
    at.run()
    times = timed_clicks(at, ["lesson_next"] * 10 + ["lesson_back"] * 10, model_id)
    return {"model": model_id, "presenter_mode": presenting, **summary(times)}


def step_change_results(models: list[str]) -> list[dict]:
    results = []
    for model_id in models:
        plain, presenting = time_step_changes(model_id, False), time_step_changes(model_id, True)
        presenting["presenter_over_plain"] = round(presenting["median_ms"] / max(plain["median_ms"], 1e-9), 2)
        results += [plain, presenting]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=12, help="how many different sentences (>= 10)")
    parser.add_argument("--gpt2", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    sentences = (SENTENCES * 4)[: max(10, args.sentences)]
    sentences = [f"{s} ({i})" if i >= len(SENTENCES) else s for i, s in enumerate(sentences)]  # all different
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs:
        os.environ["ATTN_EXPLORER_RUNS_DIR"] = runs
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        load_before = os.getloadavg()[0]
        models = [demo_or_random()]
        if args.gpt2:
            models.append(make_gpt2_run(Path(runs)))
        results = [time_page(m, step, sentences) for m in models for step in STEPS_TIMED]
        steps = step_change_results(models)
        targets = {"demo_model_median_ms": 300, "gpt2_124m_median_ms": 1000}
        print(
            json.dumps(
                {
                    "measure": "AppTest run() of app.py on the attention page after changing the sentence",
                    "torch_threads": torch.get_num_threads(),
                    "cpus": os.cpu_count(),
                    # other processes on the machine inflate every number: report how busy it was
                    "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                    "targets": targets,
                    "results": results,
                    "step_changes": steps,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
