"""The "Why this token?" page: server time after a sentence change, "Rank all heads", the logit lens's
memory for GPT-2 at 256 tokens, and the demo model's loss without its previous-token head. Prints JSON.

    python bench/why.py [--sentences 10] [--gpt2/--no-gpt2]

Page time: as bench/explorer.py, Streamlit's AppTest runs app.py -> pages/why.py in this process; the
page is opened once per (model, view), then N different 64-token texts are typed and each ``run()`` is
timed: the uncached trace and everything the view computes (the logit lens scores every cell against
the whole vocabulary; "input tokens" runs a forward and backward pass for gradient x input).
Rank all heads: the button is clicked once per model and that run is timed.
Lens memory: a child process loads GPT-2-shaped random weights, traces 256 tokens, resets the kernel's
peak-RSS counter (/proc/self/clear_refs) and reads the peak (VmHWM) after ``logit_lens``.
Knockout: ``demo:shakespeare-char`` on 64-character windows of the validation part (last 10%) of its
training corpus, with layer 0 head 1 (its previous-token head) knocked out, mean and zero ablation.

Models: the shipped demo model, and a GPT-2-124M-shaped model with random weights saved as a temporary
run (``make_gpt2_run`` from bench/explorer.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from explorer import SENTENCES, demo_or_random, make_gpt2_run, summary  # noqa: E402

VIEWS = ("lens", "attribution", "knockout", "neuron", "inputs")
N_TOKENS = 64
MB = 1024 * 1024


def texts_of(model_id: str, count: int, salt: str) -> list[str]:
    """``count`` different texts of exactly N_TOKENS tokens for this model's tokenizer, starting with ``salt``
    (every view gets texts of its own: the trace and lens caches are shared by the whole process)."""
    from gpt import load_model

    tok = load_model(model_id).tokenizer
    out = []
    for i in range(count):
        text = f"({salt} {i}) " + " ".join(SENTENCES[(i + j) % len(SENTENCES)] for j in range(12))
        ids = tok.encode(text)[:N_TOKENS]
        out.append("".join(tok.token_text(t) for t in ids))
    return out


def time_view(model_id: str, view: str, texts: list[str]) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params.update(model=model_id, why_view=view, sentence="warm up")
    if view == "knockout":
        at.query_params["why_knockout"] = "0.1"
    at.switch_page("pages/why.py")
    at.run()
    if at.exception:
        raise RuntimeError(f"{model_id} {view}: {at.exception[0].value}")
    times = []
    for text in texts:
        at.text_area(key="w_sentence").input(text)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"{model_id} {view}: {at.exception[0].value}")
    return {"model": model_id, "view": view, **summary(times)}


def time_ranking(model_id: str, text: str) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params.update(model=model_id, why_view="knockout", sentence=text)
    at.switch_page("pages/why.py")
    at.run()
    t0 = time.perf_counter()
    at.button(key="why_rank").click().run()
    seconds = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{model_id} rank: {at.exception[0].value}")
    cfg_heads = len(at.session_state["why_rank_result"]["effects"])
    return {"model": model_id, "heads": cfg_heads, "tokens": N_TOKENS, "seconds": round(seconds, 2)}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def lens_memory_child() -> None:
    """Runs in a fresh process: peak memory of the logit lens on a GPT-2-shaped model at 256 tokens."""
    import torch

    from gpt import GPT, preset
    from gpt.interpret import logit_lens

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = GPT(preset("gpt2")).eval()
    weights_kb = _status_kb("VmRSS")
    trace = model.trace(torch.randint(0, 50257, (256,)).tolist())
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    before_kb = _status_kb("VmRSS")
    t0 = time.perf_counter()
    results = {}
    for points in ("blocks", "every"):
        lens = logit_lens(model, trace, points=points)
        results[points] = list(lens.shape)
    seconds = time.perf_counter() - t0
    peak_kb = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "tokens": 256,
                "grids": results,
                "trace_mb": round(trace.nbytes / MB, 1),
                "rss_after_trace_above_weights_mb": round((before_kb - weights_kb) / 1024, 1),
                "lens_peak_above_weights_mb": round((peak_kb - weights_kb) / 1024, 1),
                "lens_peak_above_weights_and_trace_mb": round((peak_kb - before_kb) / 1024, 1),
                "full_logits_would_be_mb": round(results["every"][0] * 256 * 50257 * 4 / MB, 1),
                "both_grids_seconds": round(seconds, 2),
            }
        )
    )


def lens_memory() -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--lens-memory-child"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def previous_token_knockout(windows: int = 200) -> dict:
    """The demo char model's loss on held-out Shakespeare with layer 0 head 1 knocked out."""
    import torch

    from gpt import DEFAULT_CORPUS, load_model
    from gpt.interpret import explain, knockout_options, sequence_loss

    loaded = load_model("demo:shakespeare-char")
    model, tok = loaded.model, loaded.tokenizer
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    ids = tok.encode(text[int(len(text) * 0.9) :])  # the validation split's text
    size = model.config.block_size
    starts = list(range(0, len(ids) - size, size))[:windows]
    losses: dict[str, list[float]] = {"none": [], "mean": [], "zero": []}
    for start in starts:
        window = ids[start : start + size]
        base = model.trace(window)
        losses["none"].append(sequence_loss(base))
        for kind in ("mean", "zero"):
            losses[kind].append(sequence_loss(model.trace(window, knockout_options([(0, 1)], kind), reuse=base)))
    others = {}  # every other head's mean-ablation effect, for comparison
    for layer in range(model.config.n_layer):
        for head in range(model.config.n_head):
            if (layer, head) != (0, 1):
                deltas = []
                for start in starts[:50]:
                    window = ids[start : start + size]
                    base = model.trace(window)
                    knocked = model.trace(window, knockout_options([(layer, head)], "mean"), reuse=base)
                    deltas.append(sequence_loss(knocked) - sequence_loss(base))
                others[f"layer {layer} head {head}"] = statistics.mean(deltas)
    runner_up = max(others, key=others.get)
    prev = float(explain.head_scores(explain.all_weights(model.trace(ids[:size])))["previous_token"][0, 1])
    mean = {k: statistics.mean(v) for k, v in losses.items()}
    return {
        "model": "demo:shakespeare-char",
        "head": "layer 0 head 1",
        "previous_token_score_on_a_window": round(prev, 3),
        "windows": len(starts),
        "tokens_per_window": size,
        "loss_nats": {k: round(v, 4) for k, v in mean.items()},
        "loss_change_nats": {k: round(mean[k] - mean["none"], 4) for k in ("mean", "zero")},
        "perplexity": {k: round(float(torch.exp(torch.tensor(v))), 2) for k, v in mean.items()},
        "next_largest_mean_ablation_change_first_50_windows": {runner_up: round(others[runner_up], 4)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--gpt2", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--lens-memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lens_memory_child:
        lens_memory_child()
        return
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs:
        os.environ["ATTN_EXPLORER_RUNS_DIR"] = runs
        import torch

        torch.set_num_threads(int(os.environ.get("ATTN_EXPLORER_TORCH_THREADS", "1")))  # as the server does
        load_before = os.getloadavg()[0]
        models = [demo_or_random()] + ([make_gpt2_run(Path(runs))] if args.gpt2 else [])
        pages, ranking = [], []
        for model_id in models:
            pages += [time_view(model_id, view, texts_of(model_id, args.sentences, view)) for view in VIEWS]
            ranking.append(time_ranking(model_id, texts_of(model_id, 1, "rank")[0]))
        report = {
            "measure": "AppTest run() of app.py on /why after changing the sentence (64 tokens), per view",
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "targets": {
                "demo_median_ms": 300,
                "gpt2_64_tokens_median_ms": 1500,
                "rank_demo_s": 2,
                "rank_gpt2_s": 30,
                "lens_gpt2_256_tokens_peak_mb": 300,
            },  # fmt: skip
            "page": pages,
            "rank_all_heads": ranking,
            "lens_memory_gpt2": lens_memory() if args.gpt2 else None,
            "previous_token_knockout": previous_token_knockout(),
        }
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
