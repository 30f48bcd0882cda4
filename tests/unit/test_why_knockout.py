"""Head knockout on the inspection path: the identities, a hand-written reference, and the demo model's
previous-token head."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gpt import DEFAULT_CORPUS, GPT, TraceOptions, load_model, preset
from gpt.interpret import (
    Knockout,
    check_heads,
    explain,
    knockout_options,
    log_prob,
    loss_change,
    rank_heads,
    second_half_loss,
    sequence_loss,
)


def tiny(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny", n_layer=3, n_head=4)).eval()


IDS = [3, 14, 15, 9, 2, 6, 5, 35, 8, 9, 7, 9, 3, 2]


def test_knocking_out_nothing_changes_nothing() -> None:
    model = tiny()
    normal = model.trace(IDS)
    for kind in ("mean", "zero"):
        options = TraceOptions(knockout=Knockout((), kind))
        assert options == TraceOptions()  # no heads: the kind does not make another cache entry
        same = model.trace(IDS, options)
        assert torch.equal(same.final_norm, normal.final_norm)
        for a, b in zip(same.layers, normal.layers):
            assert torch.equal(a.context_vec, b.context_vec) and torch.equal(a.resid_out, b.resid_out)
            assert a.knocked_out == ()


def test_zero_ablating_every_head_of_a_layer_leaves_exactly_its_bias() -> None:
    model = tiny()
    for layer in range(model.config.n_layer):
        options = knockout_options([(layer, h) for h in range(model.config.n_head)], "zero")
        record = model.trace(IDS, options).layers[layer]
        bias = model.h[layer].attn.c_proj.bias
        assert torch.equal(record.attn_out, bias.expand_as(record.attn_out))
        assert record.knocked_out == tuple(range(model.config.n_head))


def reference_logits(model: GPT, ids: list[int], heads: set[tuple[int, int]], kind: str) -> torch.Tensor:
    """The model written out by hand, one head and one position at a time, with ``heads`` replaced."""
    cfg = model.config
    hs = cfg.head_size
    x = model.wte.weight[ids] + model.wpe.weight[: len(ids)]  # (T, C)
    for layer, block in enumerate(model.h):
        h = F.layer_norm(x, (cfg.n_embd,), block.ln_1.weight, block.ln_1.bias)
        qkv = h @ block.attn.c_attn.weight.T + block.attn.c_attn.bias
        q, k, v = qkv.split(cfg.n_embd, dim=1)
        heads_out = []
        for head in range(cfg.n_head):
            cols = slice(head * hs, (head + 1) * hs)
            z = torch.zeros(len(ids), hs)
            for i in range(len(ids)):
                scores = torch.tensor([float(q[i, cols] @ k[j, cols]) / math.sqrt(hs) for j in range(i + 1)])
                weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
                z[i] = sum(weights[j] * v[j, cols] for j in range(i + 1))
            if (layer, head) in heads:
                z = (
                    torch.zeros_like(z)
                    if kind == "zero"
                    else torch.stack([z[: i + 1].mean(0) for i in range(len(ids))])
                )
            heads_out.append(z)
        x = x + torch.cat(heads_out, dim=1) @ block.attn.c_proj.weight.T + block.attn.c_proj.bias
        h = F.layer_norm(x, (cfg.n_embd,), block.ln_2.weight, block.ln_2.bias)
        x = x + block.mlp.c_proj(F.gelu(block.mlp.c_fc(h), approximate="tanh"))
    return F.layer_norm(x, (cfg.n_embd,), model.ln_f.weight, model.ln_f.bias) @ model.lm_head.weight.T


@pytest.mark.parametrize("kind", ["mean", "zero"])
def test_a_tiny_hand_written_reference_agrees(kind: str) -> None:
    model = tiny(seed=2)
    heads = {(0, 1), (2, 3), (2, 0)}
    with torch.no_grad():
        expected = reference_logits(model, IDS, heads, kind)
        plain = reference_logits(model, IDS, set(), kind)
    knocked = model.trace(IDS, knockout_options(sorted(heads), kind))
    assert torch.allclose(knocked.logits, expected, atol=1e-5)
    assert not torch.allclose(knocked.logits, plain, atol=1e-3)  # the knockout did change something


def test_the_fast_path_and_training_never_see_a_knockout() -> None:
    model = tiny()
    idx = torch.tensor([IDS])
    with torch.no_grad():
        before, _ = model(idx)
    model.trace(IDS, knockout_options([(0, 0), (1, 2)], "zero"))
    with torch.no_grad():
        after, _ = model(idx)
    assert torch.equal(before, after)
    with pytest.raises(TypeError):
        model(idx, knockout=Knockout(((0, 0),)))  # the fast path has no way to take one


def test_reusing_the_unchanged_layers_gives_the_same_trace() -> None:
    model = tiny()
    base = model.trace(IDS)
    options = knockout_options([(2, 1)], "mean")
    reused, fresh = model.trace(IDS, options, reuse=base), model.trace(IDS, options)
    assert reused.layers[0] is base.layers[0] and reused.layers[2] is not base.layers[2]
    assert torch.equal(reused.final_norm, fresh.final_norm)
    with pytest.raises(ValueError, match="same tokens"):
        model.trace(IDS[:-1], options, reuse=base)
    with pytest.raises(ValueError, match="no knockout"):
        model.trace(IDS, options, reuse=fresh)


def test_a_head_that_does_not_exist_is_refused_with_the_models_range() -> None:
    model = tiny()
    with pytest.raises(ValueError, match="layer 3 head 0 does not exist: this model has layers 0..2 and heads 0..3"):
        model.trace(IDS, knockout_options([(3, 0)]))
    with pytest.raises(ValueError, match="an ablation is one of mean, zero"):
        Knockout(((0, 0),), "resample")
    assert check_heads([(0, 1), (9, 9), (0, 1), (2, -1)], 3, 4) == ([(0, 1)], [(9, 9), (2, -1)])
    assert Knockout(((1, 2), (0, 3), (1, 2))).heads == ((0, 3), (1, 2))


def test_losses_are_the_models_own_cross_entropy() -> None:
    model = tiny()
    with torch.no_grad():
        _, loss = model(torch.tensor([IDS[:-1]]), torch.tensor([IDS[1:]]))
    trace = model.trace(IDS)
    assert abs(sequence_loss(trace) - float(loss)) < 1e-5
    assert abs(log_prob(trace, 4, IDS[5]) - float(torch.log_softmax(trace.logits_at(4), -1)[IDS[5]])) < 1e-6
    assert second_half_loss(trace, 7) == sequence_loss(trace, start=7)
    with pytest.raises(ValueError, match="no next token"):
        sequence_loss(trace, start=len(IDS) - 1)


def test_rank_heads_knocks_out_each_head_alone_and_sorts_by_effect() -> None:
    model = tiny()
    base = model.trace(IDS)
    calls = []
    effects = rank_heads(model, base, sequence_loss, "zero", progress=lambda d, t: calls.append((d, t)))
    assert len(effects) == 12 and calls[-1] == (12, 12)
    sizes = [abs(e.change.delta) for e in effects]
    assert sizes == sorted(sizes, reverse=True)
    first = effects[0]
    alone = sequence_loss(model.trace(IDS, knockout_options([(first.layer, first.head)], "zero")))
    assert abs(first.change.after - alone) < 1e-9


def held_out_windows(n: int, size: int) -> list[list[int]]:
    """n windows of the validation part (the last 10%) of the demo model's training text."""
    tok = load_model("demo:shakespeare-char").tokenizer
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    ids = tok.encode(text[int(len(text) * 0.9) :])
    return [ids[i : i + size] for i in range(0, n * size, size)]


def test_knocking_out_the_demo_models_previous_token_head_raises_its_loss() -> None:
    model = load_model("demo:shakespeare-char").model
    windows = held_out_windows(8, model.config.block_size)
    weights = explain.all_weights(model.trace(windows[0]))
    assert float(explain.head_scores(weights)["previous_token"][0, 1]) > 0.6  # layer 0 head 1 is that head
    cfg = model.config
    bases = [model.trace(w) for w in windows]

    def change(layer: int, head: int, kind: str) -> float:
        deltas = [
            loss_change(base, model.trace(base.token_ids, knockout_options([(layer, head)], kind), reuse=base)).delta
            for base in bases
        ]
        return sum(deltas) / len(deltas)

    # Measured by bench/why.py on 200 windows (README): about +1 nat. Here on 8, with room to spare.
    effects = {(layer, head): change(layer, head, "mean") for layer in range(cfg.n_layer) for head in range(cfg.n_head)}
    assert effects[(0, 1)] > 0.7 and change(0, 1, "zero") > 0.7
    others = [effect for where, effect in effects.items() if where != (0, 1)]
    assert effects[(0, 1)] > 1.5 * max(others)  # no other head matters nearly as much to this model
