"""AppTest of the Q/K plane: on the attention page (the Q, K and score steps) it draws the model's own
queries and keys, normalised and projected; on Attention during training every frame uses the plane
and the axes of the last evaluation, beside the head's type scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import decode_array, figure_json, figure_title, open_page, texts
from run_fixtures import make_run
from safetensors.numpy import load_file, save_file

from gpt import TraceOptions
from gpt.interpret import explain, fit_plane, normalise_qk, project, qk_plane
from gpt.models import load_model

CHAR = "random:shakespeare-char"
SENTENCE = "to be or not"


def charts(at) -> dict[str, dict]:
    return {c.proto.id.rsplit("-", 1)[-1]: figure_json(c) for c in at.get("plotly_chart")}


def points(fig: dict, name: str) -> np.ndarray:
    trace = next(t for t in fig["data"] if t.get("name") == name)
    return np.c_[decode_array(trace["x"]), decode_array(trace["y"])]


def step_number(step_id: str) -> int:
    return explain.STEP_IDS.index(step_id) + 1


@pytest.mark.parametrize("step_id", ["q", "k", "raw_scores", "masked_scores", "attn_weights"])
def test_the_attention_page_draws_this_heads_queries_and_keys_in_one_plane(step_id: str) -> None:
    at = open_page("attention", model=CHAR, sentence=SENTENCE, layer=1, head=2, step=step_number(step_id))
    assert not at.exception
    fig = charts(at)["attn_qk_plane"]
    assert figure_title(fig).startswith("Queries (circles) and keys (diamonds), layer 1, head 2")
    loaded = load_model(CHAR)
    layer = loaded.model.trace(loaded.tokenizer.encode(SENTENCE)).layers[1]
    expected = qk_plane(layer.q[2], layer.k[2], layer.steps(2).attn_weights)
    np.testing.assert_allclose(points(fig, "queries"), expected.queries.numpy(), atol=1e-5)
    np.testing.assert_allclose(points(fig, "keys"), expected.keys.numpy(), atol=1e-5)
    lines = next(t for t in fig["data"] if t["name"].startswith("query →"))
    ends = np.asarray([v for v in lines["x"] if v is not None]).reshape(-1, 2)[:, 1]
    np.testing.assert_allclose(ends, expected.keys.numpy()[expected.strongest, 0], atol=1e-5)
    assert "Neither changes a single attention weight" in texts(at)


@pytest.mark.parametrize("step_id", ["x", "v", "context_vec", "attn_out"])
def test_steps_that_do_not_compare_queries_with_keys_have_no_plane(step_id: str) -> None:
    at = open_page("attention", model=CHAR, sentence=SENTENCE, step=step_number(step_id))
    assert not at.exception
    assert "attn_qk_plane" not in charts(at)


def test_without_the_mask_each_query_is_joined_to_its_strongest_key_among_all() -> None:
    at = open_page("attention", model=CHAR, sentence=SENTENCE, no_mask=1, step=step_number("q"))
    loaded = load_model(CHAR)
    trace = loaded.model.trace(loaded.tokenizer.encode(SENTENCE), TraceOptions(causal=False))
    strongest = trace.layers[0].steps(0).attn_weights.argmax(dim=-1)
    assert int(strongest.max()) > 0  # some query looks ahead: the mask really is off
    fig = charts(at)["attn_qk_plane"]
    lines = next(t for t in fig["data"] if t["name"].startswith("query →"))
    ends = np.asarray([v for v in lines["x"] if v is not None]).reshape(-1, 2)[:, 1]
    np.testing.assert_allclose(ends, points(fig, "keys")[strongest.numpy(), 0], atol=1e-6)


def add_queries_and_keys(path: Path, steps: tuple[int, ...], tokens: int = 7, head_size: int = 4) -> None:
    """What a run records since the Q/K plane: queries and keys beside the weights in each probe file."""
    for k, step in enumerate(steps):
        file = path / "probe" / f"iter-{step:06d}.safetensors"
        tensors = load_file(str(file))
        rng = np.random.default_rng(step)
        spread = 0.1 + k  # the vectors grow apart with training
        for name in ("queries", "keys"):
            tensors[name] = (rng.standard_normal((2, 2, tokens, head_size)) * spread).astype(np.float16)
        save_file(tensors, str(file))


def recorded(path: Path, step: int, name: str) -> torch.Tensor:
    """Layer 0, head 0's recorded queries or keys at ``step``."""
    return torch.from_numpy(
        load_file(str(path / "probe" / f"iter-{step:06d}.safetensors"))[name][0, 0].astype(np.float32)
    )


def open_run(run_id: str):
    at = open_page("watch", run=False)
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_frame_of_a_run_is_drawn_in_the_plane_and_axes_of_its_last_step(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "with-qk", checkpoint=False, evals=(0, 50, 100))
    add_queries_and_keys(path, (0, 50, 100))
    at = open_run("with-qk")
    last = charts(at)["w_qk"]
    at.select_slider(key="watch_step").set_value(0).run()
    first = charts(at)["w_qk"]
    assert "step: 0" in figure_title(first) and "fitted at step 100" in figure_title(first)
    assert first["layout"]["xaxis"]["range"] == last["layout"]["xaxis"]["range"]  # the frames compare
    q = {it: recorded(path, it, "queries") for it in (0, 100)}
    k = {it: recorded(path, it, "keys") for it in (0, 100)}
    fit = fit_plane(q[100], k[100])
    np.testing.assert_allclose(points(first, "queries"), project(fit, normalise_qk(q[0], k[0])[0]).numpy(), atol=1e-4)
    low, high = first["layout"]["xaxis"]["range"]
    assert low <= points(last, "keys")[:, 0].min() and points(last, "keys")[:, 0].max() <= high
    scores = charts(at)["w_head_scores"]
    assert [t["name"] for t in scores["data"]] == ["previous-token score", "first-token score", "induction score"]
    np.testing.assert_allclose(decode_array(scores["data"][0]["y"]), [0.0, 0.1, 0.2], atol=1e-9)  # L0 H0


def test_a_step_recorded_without_queries_and_keys_says_so(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "mixed", checkpoint=False, evals=(0, 50, 100))
    add_queries_and_keys(path, (50, 100))  # step 0 was recorded by an older version
    at = open_run("mixed")
    assert "w_qk" in charts(at)
    at.select_slider(key="watch_step").set_value(0).run()
    assert not at.exception
    assert "Step 0 has no readable queries and keys" in texts(at) and "w_qk" not in charts(at)
    make_run(isolated_runs_dir, "old", checkpoint=False, evals=(0, 50))
    at = open_run("old")
    assert "recorded before runs saved their queries and keys" in texts(at)


def test_token_labels_in_the_plane_are_shown_as_typed(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "payload", checkpoint=False, evals=(0,))
    add_queries_and_keys(path, (0,))
    lines = (path / "probe.jsonl").read_text().replace('"T", "h"', '"<b>", "h"')
    (path / "probe.jsonl").write_text(lines)
    at = open_run("payload")
    fig = charts(at)["w_qk"]
    queries = next(t for t in fig["data"] if t.get("name") == "queries")
    assert queries["text"][0] == "&lt;b&gt;" and queries["hovertext"][0].startswith("query 0: &lt;b&gt;")
    assert "<b>" not in "".join(queries["hovertext"])
