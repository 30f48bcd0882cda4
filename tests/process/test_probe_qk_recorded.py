"""A real training worker records every head's probe queries and keys at each evaluation, the reader
gives them back, and Attention during training draws them in one plane; an older run without them
gets a note instead."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import decode_array, figure_json, figure_title, open_page, texts
from safetensors.numpy import load_file, save_file

from gpt.checkpoint import load_checkpoint
from gpt.interpret import fit_plane, normalise_qk, project
from gpt.runs import probe_has_qk, read_probe_qk, read_probe_weights
from gpt.runs.layout import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8"]
FAST = ["--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "2", "--threads", "1"]
PROBE = "the cat sat"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step run that evaluated at steps 0, 2 and 4."""
    folder = tmp_path_factory.mktemp("qk")
    corpus = folder / "tiny.txt"
    corpus.write_text("the cat sat on the mat. the dog sat on the log. " * 60, encoding="utf-8")
    run = folder / "runs" / "qk-run"
    cmd = [sys.executable, "-m", "gpt.train", "--data", str(corpus), "--out", str(run), *TINY, *FAST]
    cmd += ["--max-iters", "4", "--eval-interval", "2", "--probe", PROBE]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return run


def test_the_worker_records_each_heads_queries_and_keys(trained_run: Path) -> None:
    assert [p["iter"] for p in read_jsonl(trained_run / "probe.jsonl")] == [0, 2, 4]
    for it in (0, 2, 4):
        assert probe_has_qk(trained_run, it)
        queries, keys = read_probe_qk(trained_run, it)
        assert queries.shape == keys.shape == (2, 2, len(PROBE), 8)  # layers, heads, probe length, head size
        assert read_probe_weights(trained_run, it).shape == (2, 2, len(PROBE), len(PROBE))
    # The last evaluation is the final checkpoint's model: its trace has these queries and keys.
    loaded = load_checkpoint(trained_run / "checkpoint")
    trace = loaded.model.trace(loaded.tokenizer.encode(PROBE))
    queries, keys = read_probe_qk(trained_run, 4)
    for layer in range(2):
        np.testing.assert_allclose(queries[layer], trace.layers[layer].q.numpy(), rtol=2e-3, atol=2e-3)
        np.testing.assert_allclose(keys[layer], trace.layers[layer].k.numpy(), rtol=2e-3, atol=2e-3)
    stored = load_file(str(trained_run / "probe" / "iter-000004.safetensors"))
    assert stored["queries"].dtype == np.float16 and stored["attn_weights"].dtype == np.float32


def test_the_watch_page_draws_the_recorded_plane_fitted_on_the_last_step(
    trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_RUNS_DIR", str(trained_run.parent))
    at = open_page("watch", run=False)
    at.query_params["run"] = "qk-run"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.select_slider(key="watch_step").set_value(2).run()
    charts = {c.proto.id.rsplit("-", 1)[-1]: figure_json(c) for c in at.get("plotly_chart")}
    plane = charts["w_qk"]
    assert "step: 2" in figure_title(plane) and "fitted at step 4" in figure_title(plane)
    # The drawn points are step 2's normalised queries in the plane fitted on step 4's vectors.
    q2, k2 = (torch.from_numpy(a[0, 0]) for a in read_probe_qk(trained_run, 2))
    q4, k4 = (torch.from_numpy(a[0, 0]) for a in read_probe_qk(trained_run, 4))
    expected = project(fit_plane(q4, k4), normalise_qk(q2, k2)[0]).numpy()
    print([t.get("name") for t in plane["data"]])
    queries = next(t for t in plane["data"] if t.get("name") == "queries")
    np.testing.assert_allclose(np.c_[decode_array(queries["x"]), decode_array(queries["y"])], expected, atol=1e-4)
    assert charts["w_head_scores"]["data"][0]["name"] == "previous-token score"


def test_an_older_run_without_queries_and_keys_says_so(trained_run: Path, tmp_path: Path, monkeypatch) -> None:
    old = tmp_path / "runs" / "old-run"
    old.mkdir(parents=True)
    for name in ("run.json", "status.json", "probe.jsonl", "metrics.jsonl"):
        (old / name).write_bytes((trained_run / name).read_bytes())
    (old / "probe").mkdir()
    for file in (trained_run / "probe").glob("iter-*.safetensors"):  # only the weights, as runs used to record
        save_file({"attn_weights": load_file(str(file))["attn_weights"]}, str(old / "probe" / file.name))
    assert not probe_has_qk(old, 4) and read_probe_qk(old, 4) is None
    monkeypatch.setenv("ATTN_EXPLORER_RUNS_DIR", str(old.parent))
    at = open_page("watch", run=False)
    at.query_params["run"] = "old-run"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "recorded before runs saved their queries and keys" in texts(at)
    assert any("Attention weights at this step" in figure_title(figure_json(c)) for c in at.get("plotly_chart"))
