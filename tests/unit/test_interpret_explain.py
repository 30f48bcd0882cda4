"""The walk-through steps show the model's own numbers; head summaries say what a head does."""

from __future__ import annotations

import math

import pytest
import torch

from gpt import GPT, TraceOptions, preset
from gpt.attention import attention_steps
from gpt.interpret import explain


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(preset("tiny", n_embd=32, n_head=4, block_size=32)).eval()


@pytest.fixture(scope="module")
def trace(model: GPT):
    return model.trace([3, 7, 1, 9, 4, 4, 2])


def test_steps_follow_the_attention_formula_in_order() -> None:
    assert explain.STEP_IDS == (
        "x",
        "q",
        "k",
        "v",
        "raw_scores",
        "scaled_scores",
        "masked_scores",
        "attn_weights",
        "context_vec",
        "concat",
        "attn_out",
    )
    for step in explain.STEPS:
        assert step.title and step.latex and len(step.explanation) > 80
        assert step.square == (step.shape == "(T, T)")


def test_each_step_shows_the_tensor_of_that_name(trace) -> None:
    layer = trace.layers[1]
    head = 2
    ref = attention_steps(layer.q[head], layer.k[head], layer.v[head])
    shapes = {"(T, C)": (7, 32), "(T, d_k)": (7, 8), "(T, T)": (7, 7)}
    for step in explain.STEPS:
        matrix = explain.step_matrix(step, layer, head)
        assert tuple(matrix.shape) == shapes[step.shape], step.id
    assert torch.equal(explain.step_matrix(explain.STEPS[1], layer, head), layer.q[head])
    assert torch.allclose(explain.step_matrix(explain.STEPS[5], layer, head), ref.raw_scores / math.sqrt(8))
    masked = explain.step_matrix(explain.STEPS[6], layer, head)
    assert torch.isneginf(masked[0, 1:]).all() and not torch.isinf(masked.tril()).any()
    weights = explain.step_matrix(explain.STEPS[7], layer, head)
    assert torch.allclose(weights.sum(-1), torch.ones(7))
    # the chosen head's context vectors are one block of the concatenation
    concat = explain.step_matrix(explain.STEPS[9], layer, head)
    assert torch.allclose(concat[:, 16:24], explain.step_matrix(explain.STEPS[8], layer, head), atol=1e-6)


def test_shape_text_and_column_names() -> None:
    by_id = dict(zip(explain.STEP_IDS, explain.STEPS))
    assert explain.shape_text(by_id["q"], 9, 32, 128) == "(T, d_k) = (9, 32)"
    assert explain.shape_text(by_id["attn_weights"], 9, 32, 128) == "(T, T) = (9, 9)"
    assert explain.column_names(by_id["v"], 4, 8) == ["d0", "d1", "d2", "d3"]
    assert explain.column_names(by_id["concat"], 4, 8)[4] == "h1·0"
    assert len(explain.column_names(by_id["attn_out"], 4, 8)) == 8


@pytest.mark.parametrize("value, n, expected", [(7, 4, 3), (-2, 4, 0), ("2", 4, 2), ("x", 4, 0), (None, 1, 0)])
def test_clamp_index(value, n, expected) -> None:
    assert explain.clamp_index(value, n) == expected


def test_what_if_switches_change_weights_as_the_maths_says(model: GPT) -> None:
    ids = [3, 7, 1, 9, 4, 4, 2]
    normal = model.trace(ids)
    unmasked = model.trace(ids, TraceOptions(causal=False))
    unscaled = model.trace(ids, TraceOptions(scale=False))
    assert explain.upper_triangle_mass(normal.layers[0].steps(0).attn_weights) == 0.0
    assert explain.upper_triangle_mass(unmasked.layers[0].steps(0).attn_weights) > 0.0
    change = explain.weight_change(normal, unmasked, 0, 0)
    assert change.abs().max() > 0
    # without the division by sqrt(d_k) the same scores are sharper: lower entropy in layer 0
    from gpt.interpret.head_scores import entropy

    assert entropy(unscaled.layers[0].steps(1).attn_weights) < entropy(normal.layers[0].steps(1).attn_weights)
    top = explain.top_next_tokens(normal, k=5)
    assert len(top) == 5 and top[0][1] >= top[-1][1] and all(0 <= p <= 1 for _, p in top)


def test_head_table_has_one_row_per_head_with_scores(trace) -> None:
    texts = [f"t{i}" for i in range(7)]
    rows = explain.head_table(trace, texts)
    assert [(r["layer"], r["head"]) for r in rows] == [(layer, h) for layer in range(2) for h in range(4)]
    for row in rows:
        assert 0 <= row["previous_token"] <= 1 and 0 <= row["first_token"] <= 1
        assert 0 <= row["entropy"] <= math.log(7)
        assert "induction" not in row
        assert str(row["top_key"]).split(": ")[1] in texts


def test_head_table_on_a_constructed_previous_token_pattern() -> None:
    """Feed hand-made weights through the same summaries: a perfect previous-token head scores 1."""
    t = 6
    weights = torch.zeros(1, 1, t, t)
    weights[0, 0, 0, 0] = 1
    for i in range(1, t):
        weights[0, 0, i, i - 1] = 1

    class FakeLayer:
        def attn_weights(self):
            return weights[0]

    class FakeTrace:
        layers = [FakeLayer()]

    rows = explain.head_table(FakeTrace(), [str(i) for i in range(t)], period=3)
    assert rows[0]["previous_token"] == pytest.approx(1.0)
    assert rows[0]["entropy"] == pytest.approx(0.0, abs=1e-6)
    assert rows[0]["induction"] == pytest.approx(0.0)
    assert explain.dominant_keys(weights[0, 0])[3] == (2, 1.0)


def test_induction_sequence_repeats_and_fits_the_context() -> None:
    ids, period = explain.induction_sequence(65, 64, seed=1)
    assert period == 25 and len(ids) == 50 and ids[:25] == ids[25:]
    ids, period = explain.induction_sequence(65, 16)
    assert period == 8 and len(ids) == 16
    assert explain.induction_sequence(65, 64, seed=1) == explain.induction_sequence(65, 64, seed=1)


def test_thumbnail_keeps_small_maps_and_shrinks_large_ones() -> None:
    w = torch.rand(2, 3, 10, 10)
    assert explain.thumbnail(w, 16) is w
    small = explain.thumbnail(w, 5)
    assert small.shape == (2, 3, 5, 5)
    assert torch.allclose(small[0, 0, 0, 0], w[0, 0, :2, :2].mean())
