"""The model: shapes, causality, the traced path equals the fast path, every step equals its definition."""

from __future__ import annotations

import math

import pytest
import torch

from gpt import GPT, ConfigError, GPTConfig, TraceOptions, attention_steps, preset
from gpt.config import check_vocab_matches


def make_model(seed: int = 0, **overrides) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny", **overrides)).eval()


def test_forward_shapes_and_loss() -> None:
    model = make_model()
    idx = torch.randint(0, 64, (3, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 10, 64)
    assert loss is not None and loss.ndim == 0
    assert math.isclose(loss.item(), math.log(64), rel_tol=0.2)  # untrained: about uniform


def test_gpt2_preset_has_124m_parameters() -> None:
    with torch.device("meta"):
        model = GPT(preset("gpt2"))
    assert model.num_params() == 124_439_808  # tied head counted once, as OpenAI's 124M


@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal"])
def test_changing_a_token_never_changes_earlier_logits(pos_encoding: str) -> None:
    model = make_model(pos_encoding=pos_encoding)
    idx = torch.randint(0, 64, (1, 12))
    j = 7
    changed = idx.clone()
    changed[0, j] = (changed[0, j] + 1) % 64
    a, _ = model(idx)
    b, _ = model(changed)
    assert torch.allclose(a[0, :j], b[0, :j], atol=1e-6)
    assert not torch.allclose(a[0, j:], b[0, j:])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal"])
def test_trace_gives_the_same_logits_as_the_fast_path(seed: int, pos_encoding: str) -> None:
    model = make_model(seed, pos_encoding=pos_encoding)
    ids = torch.randint(0, 64, (16,))
    logits, _ = model(ids[None])
    trace = model.trace(ids)
    assert torch.allclose(trace.logits, logits[0], atol=1e-5)


def test_trace_changes_no_output_and_leaves_no_state_on_the_model() -> None:
    model = make_model()
    ids = torch.randint(0, 64, (1, 9))
    before, _ = model(ids)
    state_before = {k: v.clone() for k, v in model.state_dict().items()}
    attrs_before = set(vars(model))
    model.trace(ids[0], TraceOptions(scale=False, causal=False))
    after, _ = model(ids)
    assert torch.equal(before, after)
    assert set(vars(model)) == attrs_before
    assert all(torch.equal(state_before[k], v) for k, v in model.state_dict().items())


def test_each_captured_step_equals_its_definition() -> None:
    model = make_model(3)
    ids = torch.randint(0, 64, (10,))
    trace = model.trace(ids)
    block = model.h[1]
    layer = trace.layers[1]
    C = model.config.n_embd
    hs = model.config.head_size
    T = len(ids)
    # X is the layer-normed residual stream; Q, K, V are its projections split into heads.
    assert torch.allclose(layer.x, block.ln_1(layer.resid_in), atol=1e-6)
    qkv = layer.x @ block.attn.c_attn.weight.T + block.attn.c_attn.bias
    q_all, k_all, v_all = qkv.split(C, dim=1)
    for h in range(model.config.n_head):
        cols = slice(h * hs, (h + 1) * hs)
        assert torch.allclose(layer.q[h], q_all[:, cols], atol=1e-6)
        assert torch.allclose(layer.k[h], k_all[:, cols], atol=1e-6)
        assert torch.allclose(layer.v[h], v_all[:, cols], atol=1e-6)
        steps = layer.steps(h)
        raw = q_all[:, cols] @ k_all[:, cols].T
        assert torch.allclose(steps.raw_scores, raw, atol=1e-6)
        assert torch.allclose(steps.scaled_scores, raw / math.sqrt(hs), atol=1e-6)
        above = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        assert torch.isneginf(steps.masked_scores[above]).all()
        assert torch.equal(steps.masked_scores[~above], steps.scaled_scores[~above])
        # softmax rows sum to 1 and are exactly 0 above the diagonal
        assert torch.allclose(steps.attn_weights.sum(-1), torch.ones(T), atol=1e-6)
        assert (steps.attn_weights[above] == 0).all()
        assert torch.allclose(steps.context_vec, steps.attn_weights @ v_all[:, cols], atol=1e-6)
        assert torch.allclose(layer.context_vec[h], steps.context_vec, atol=1e-6)
        assert torch.allclose(layer.concat[:, cols], steps.context_vec, atol=1e-6)
    assert torch.allclose(layer.attn_out, block.attn.c_proj(layer.concat), atol=1e-6)
    assert torch.allclose(layer.resid_mid, layer.resid_in + layer.attn_out, atol=1e-6)
    assert torch.allclose(trace.embeddings, trace.tok_emb + trace.pos_emb)
    assert torch.allclose(trace.tok_emb, model.wte.weight[ids])
    assert torch.allclose(trace.layers[0].resid_in, trace.embeddings)
    for before, after in zip(trace.layers, trace.layers[1:]):
        assert torch.equal(after.resid_in, before.resid_out)
    assert torch.allclose(trace.final_norm, model.ln_f(trace.layers[-1].resid_out), atol=1e-6)


def test_no_scaling_switch_changes_only_the_division() -> None:
    model = make_model(4)
    ids = torch.randint(0, 64, (8,))
    normal = model.trace(ids).layers[0].steps(0)
    unscaled = model.trace(ids, TraceOptions(scale=False)).layers[0].steps(0)
    assert torch.equal(normal.raw_scores, unscaled.raw_scores)
    assert torch.equal(unscaled.scaled_scores, unscaled.raw_scores)
    assert not torch.allclose(normal.attn_weights, unscaled.attn_weights)
    assert (unscaled.attn_weights[torch.triu(torch.ones(8, 8, dtype=torch.bool), 1)] == 0).all()


def test_no_mask_switch_lets_tokens_see_the_future_and_changes_predictions() -> None:
    model = make_model(5)
    ids = torch.randint(0, 64, (8,))
    masked = model.trace(ids)
    unmasked = model.trace(ids, TraceOptions(causal=False))
    w = unmasked.layers[0].steps(0).attn_weights
    assert (w[torch.triu(torch.ones(8, 8, dtype=torch.bool), 1)] > 0).all()
    assert torch.equal(masked.layers[0].steps(0).raw_scores, unmasked.layers[0].steps(0).raw_scores)
    assert not torch.allclose(masked.logits, unmasked.logits)
    # the last token sees everything either way, but later layers differ because earlier rows did
    assert torch.allclose(masked.layers[0].steps(0).attn_weights[-1], w[-1], atol=1e-6)


def test_attention_steps_matches_torch_sdpa() -> None:
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 5) for _ in range(3))
    steps = attention_steps(q, k, v)
    reference = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(steps.context_vec, reference, atol=1e-6)
    assert steps.d_k == 5


def test_trace_refuses_empty_and_too_long_input() -> None:
    model = make_model()
    with pytest.raises(ValueError, match="empty"):
        model.trace([])
    with pytest.raises(ValueError, match="longer than the model's context"):
        model.trace(list(range(17)))


def test_layer_trace_rejects_a_missing_head() -> None:
    trace = make_model().trace([1, 2, 3])
    with pytest.raises(IndexError, match="heads 0..1"):
        trace.layers[0].steps(2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_embd": 10, "n_head": 3}, "divisible by n_head"),
        ({"n_layer": -1}, "n_layer must be at least 0"),
        ({"n_head": -2}, "n_head must be at least 1"),
        ({"block_size": 10**9}, "block_size must be at most"),
        ({"n_embd": 2.5}, "whole number"),
        ({"dropout": 1.5}, "dropout"),
        ({"pos_encoding": "rotary"}, "pos_encoding"),
    ],
)
def test_config_validation_messages(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        preset("tiny", **changes)


def test_vocab_mismatch_is_refused() -> None:
    with pytest.raises(ConfigError, match="vocab_size to at least 100"):
        check_vocab_matches(GPTConfig(vocab_size=65), 100)


def test_config_round_trips_through_dict() -> None:
    cfg = preset("shakespeare-char")
    assert GPTConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown config field"):
        GPTConfig.from_dict({**cfg.to_dict(), "n_experts": 8})
