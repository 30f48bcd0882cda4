"""The neuron view (q[d]*k[d] to the weight) and the three answers to "which input tokens mattered?"."""

from __future__ import annotations

import copy

import pytest
import torch

from gpt import GPT, TraceOptions, load_model, preset
from gpt.interpret import (
    attention_rollout,
    gradient_x_input,
    head_averaged,
    input_importance,
    last_layer_attention,
    neuron_view,
    rollout_row,
)

IDS = [3, 14, 15, 9, 2, 6, 5, 35, 8, 9, 7]


def tiny(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny", n_layer=3, n_head=4)).eval()


@pytest.mark.parametrize("options", [TraceOptions(), TraceOptions(scale=False), TraceOptions(causal=False)])
def test_the_bars_sum_to_the_raw_score_and_the_chain_reproduces_attn_weights(options: TraceOptions) -> None:
    model = load_model("demo:shakespeare-char").model
    trace = model.trace(load_model("demo:shakespeare-char").tokenizer.encode("To be, or not to be"), options)
    for layer in (0, 3):
        record = trace.layers[layer]
        for head in range(record.n_head):
            steps = record.steps(head)
            n = trace.n_tokens
            for query in range(n):
                for key in range(n):
                    view = neuron_view(record, head, query, key)
                    raw = float(steps.raw_scores[query, key])
                    assert abs(float(view.products.double().sum()) - raw) < 1e-5 * max(1.0, abs(raw))  # the bars
                    assert view.raw_score == raw and view.scaled_score == float(steps.scaled_scores[query, key])
                    assert view.scaled_score == pytest.approx(view.raw_score / view.divisor, rel=1e-6)
                    assert view.masked == (options.causal and key > query)
                    assert view.weight == float(steps.attn_weights[query, key])  # exactly the model's weight
                assert torch.equal(torch.softmax(view.row_scores, dim=-1), view.row_weights)  # the last step
                assert torch.equal(view.row_weights, steps.attn_weights[query])


def test_the_neuron_view_names_its_parts() -> None:
    model = tiny()
    record = model.trace(IDS).layers[1]
    view = neuron_view(record, 2, 6, 3)
    assert torch.equal(view.q, record.q[2, 6]) and torch.equal(view.k, record.k[2, 3])
    assert torch.equal(view.products, record.q[2, 6] * record.k[2, 3])
    assert view.divisor == pytest.approx(model.config.head_size**0.5)
    order = view.order()
    assert [float(view.products[d]) for d in order] == sorted(view.products.tolist(), reverse=True)
    later = neuron_view(record, 2, 3, 6)
    assert later.masked and later.weight == 0.0
    with pytest.raises(ValueError, match="key position 11 is past the text"):
        neuron_view(record, 0, 0, 11)
    with pytest.raises(ValueError, match="head 4 does not exist"):
        neuron_view(record, 4, 0, 0)


def test_rollout_rows_sum_to_one() -> None:
    for model in (tiny(), load_model("demo:shakespeare-char").model):
        averaged = head_averaged(model.trace(IDS))
        rollout = attention_rollout(averaged)
        assert torch.allclose(rollout.sum(-1), torch.ones(len(IDS), dtype=torch.float64), atol=1e-12)
        assert torch.all(rollout >= 0) and torch.all(torch.triu(rollout, 1) == 0)  # causal stays causal
        for position in (0, 5, len(IDS) - 1):
            assert torch.allclose(rollout_row(averaged, position), rollout[position], atol=1e-12)


def test_identity_attention_rolls_out_to_the_identity() -> None:
    eye = torch.eye(7).expand(4, 7, 7)  # 4 layers whose attention is fixed to the identity
    assert torch.equal(attention_rollout(eye), torch.eye(7, dtype=torch.float64))
    assert torch.equal(rollout_row(eye, 3), torch.eye(7, dtype=torch.float64)[3])


def test_rollout_is_the_product_of_the_mixed_layers() -> None:
    a = torch.tensor([[1.0, 0.0], [0.25, 0.75]])
    b = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    mixed = lambda m: 0.5 * torch.eye(2) + 0.5 * m  # noqa: E731
    expected = (mixed(b) @ mixed(a)).double()  # the first layer acts first
    assert torch.allclose(attention_rollout(torch.stack([a, b])), expected)
    assert torch.equal(attention_rollout(torch.stack([a, b]), residual=1.0), torch.eye(2, dtype=torch.float64))


def test_gradient_x_input_matches_a_finite_difference() -> None:
    model = copy.deepcopy(tiny(seed=4)).double()
    position, target = 8, 17
    grad_x = gradient_x_input(model, IDS, position, target)
    assert grad_x.shape == (position + 1,)
    eps = 1e-5
    with torch.no_grad():
        emb = model.wte(torch.tensor([IDS[: position + 1]]))
        for j in (0, 4, position):
            logit = []
            for scale in (1 + eps, 1 - eps):  # d logit / d alpha of alpha * e_j at alpha = 1 is grad . e_j
                scaled = emb.clone()
                scaled[0, j] *= scale
                logit.append(float(model.final_hidden(scaled)[0, position] @ model.lm_head.weight[target]))
            assert abs((logit[0] - logit[1]) / (2 * eps) - float(grad_x[j])) < 1e-6
    assert all(p.grad is None for p in model.parameters())  # the weights got no gradient


def test_the_three_answers_are_shares_of_one() -> None:
    model = tiny()
    trace = model.trace(IDS)
    importance = input_importance(model, trace, 6, 9, versus=2)
    averaged = head_averaged(trace)
    assert torch.allclose(importance.last_layer, last_layer_attention(averaged)[6, :7].double())
    for name, shares in importance.shares().items():
        assert shares.shape == (7,) and abs(float(shares.sum()) - 1) < 1e-6, name
    plain = gradient_x_input(model, IDS, 6, 9) - gradient_x_input(model, IDS, 6, 2)
    assert torch.allclose(importance.grad_x_input, plain, atol=1e-6)
