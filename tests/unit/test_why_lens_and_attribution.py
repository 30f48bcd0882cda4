"""The logit lens and direct logit attribution: the identities that make them exact."""

from __future__ import annotations

import pytest
import torch

import gpt.interpret.lens as lens_module
from gpt import GPT, GPTConfig, load_model, preset
from gpt.interpret import (
    default_points,
    direct_logit_attribution,
    head_outputs,
    logit_lens,
    point_names,
    residual_points,
)
from gpt.interpret.lens import LENS_CHUNK_BYTES, chunk_cells

TEXT = "To be, or not to be, that is the question"


def random_model(seed: int = 0, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny", **changes)).eval()


RANDOM_MODELS = {
    "tiny": {},
    "no-bias": {"bias": False},
    "sinusoidal-untied": {"pos_encoding": "sinusoidal", "tie_embeddings": False},
    "char-shape": {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128},
}


def ids_for(model: GPT, n: int = 12, seed: int = 1) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, model.config.vocab_size, (min(n, model.config.block_size),), generator=g).tolist()


@pytest.fixture(scope="module")
def demos() -> dict[str, tuple[GPT, list[int]]]:
    out = {}
    for name in ("demo:shakespeare-char", "demo:kjv-shakespeare-bpe"):
        loaded = load_model(name)
        out[name] = (loaded.model, loaded.tokenizer.encode(TEXT)[: loaded.model.config.block_size])
    return out


# ------------------------------------------------------------------------------------ logit lens


@pytest.mark.parametrize("points", ["every", "blocks"])
def test_the_lens_last_row_is_the_forward_pass(points: str, demos) -> None:
    for model, ids in [(random_model(), ids_for(random_model())), *demos.values()]:
        lens = logit_lens(model, model.trace(ids), k=5, points=points)
        with torch.no_grad():
            logits, _ = model(torch.tensor([ids]))
        expected = torch.softmax(logits[0].float(), dim=-1).topk(5)
        assert torch.equal(lens.top_ids[-1], expected.indices)
        assert torch.allclose(lens.top_probs[-1], expected.values, atol=1e-6)


def test_every_row_is_ln_f_and_the_unembedding_of_its_point() -> None:
    model = random_model()
    trace = model.trace(ids_for(model))
    stream = residual_points(trace, "every")
    assert stream.shape[0] == len(point_names(model.config.n_layer)) == 2 * model.config.n_layer + 1
    assert torch.equal(stream[0], trace.embeddings) and torch.equal(stream[1], trace.layers[0].resid_mid)
    assert torch.equal(stream[2], trace.layers[0].resid_out)
    lens = logit_lens(model, trace, k=3)
    with torch.no_grad():
        probs = torch.softmax(model.lm_head(model.ln_f(stream[1])), dim=-1)  # after layer 0's attention
    assert torch.allclose(lens.top_probs[1], probs.topk(3).values, atol=1e-6)
    assert point_names(2, "blocks") == ["embeddings", "layer 0 after the block", "layer 1 after the block"]


def test_scoring_in_chunks_changes_nothing() -> None:
    model = random_model()
    trace = model.trace(ids_for(model))
    whole = logit_lens(model, trace, k=4)
    one_cell_at_a_time = logit_lens(model, trace, k=4, chunk_bytes=1)
    assert torch.equal(whole.top_ids, one_cell_at_a_time.top_ids)
    assert torch.allclose(whole.top_probs, one_cell_at_a_time.top_probs, atol=1e-7)


def test_a_gpt2_vocabulary_is_scored_in_chunks_never_all_cells_at_once(monkeypatch) -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50257, block_size=64, n_layer=12, n_head=2, n_embd=16)).eval()
    seen = []
    real = lens_module.log_sum_exp_

    def spy(x, *args, **kwargs):
        seen.append(x.numel() * 4)
        return real(x, *args, **kwargs)

    monkeypatch.setattr(lens_module, "log_sum_exp_", spy)
    lens = logit_lens(model, model.trace(ids_for(model, 64)), points="blocks")
    assert lens.shape == (13, 64)  # embeddings + 12 blocks, 64 positions
    assert max(seen) <= LENS_CHUNK_BYTES < 13 * 64 * 50257 * 4
    assert len(seen) == -(-13 * 64 // chunk_cells(50257))


def test_gpt2_shows_the_points_after_each_block_by_default() -> None:
    assert default_points(preset("gpt2"), 64) == "blocks"
    assert default_points(preset("shakespeare-char", vocab_size=65), 64) == "every"


# ------------------------------------------------------------------------- logit attribution


@pytest.mark.parametrize("name", list(RANDOM_MODELS))
def test_attribution_adds_up_to_the_logit_for_random_models(name: str) -> None:
    model = random_model(seed=3, **RANDOM_MODELS[name])
    ids = ids_for(model, 16)
    trace = model.trace(ids)
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]))
    for position in (0, len(ids) // 2, len(ids) - 1):
        top2 = logits[0, position].topk(2).indices.tolist()
        plain = direct_logit_attribution(model, trace, position, top2[0])
        assert abs(plain.total - plain.logit) < 1e-4
        assert abs(plain.logit - float(logits[0, position, top2[0]])) < 1e-4
        diff = direct_logit_attribution(model, trace, position, top2[0], versus=top2[1])
        assert abs(diff.total - float(logits[0, position, top2[0]] - logits[0, position, top2[1]])) < 1e-4


def test_attribution_adds_up_to_the_logit_for_the_demo_models(demos) -> None:
    for model, ids in demos.values():
        trace = model.trace(ids)
        for position in range(0, len(ids), 5):
            target = int(trace.logits_at(position).argmax())
            attr = direct_logit_attribution(model, trace, position, target)
            assert abs(attr.total - attr.logit) < 1e-4, (position, attr.total, attr.logit)
            kinds = [t.kind for t in attr.terms]
            cfg = model.config
            assert kinds.count("head") == cfg.n_layer * cfg.n_head and kinds.count("MLP") == cfg.n_layer
            assert attr.head_matrix().shape == (cfg.n_layer, cfg.n_head)


def test_the_heads_slices_of_w_o_add_up_to_the_attention_output() -> None:
    model = random_model()
    trace = model.trace(ids_for(model))
    for layer, record in enumerate(trace.layers):
        writes = head_outputs(model, layer, record)  # (nh, T, C)
        assert torch.allclose(writes.sum(0) + model.h[layer].attn.c_proj.bias, record.attn_out, atol=1e-6)
        assert torch.allclose(head_outputs(model, layer, record, position=3), writes[:, 3], atol=1e-7)


def test_a_knocked_out_head_contributes_what_it_handed_on() -> None:
    from gpt.interpret import knockout_options

    model = random_model()
    ids = ids_for(model)
    trace = model.trace(ids, knockout_options([(1, 0)], "zero"))
    attr = direct_logit_attribution(model, trace, len(ids) - 1, 5)
    assert attr.head_matrix()[1, 0] == 0.0 and abs(attr.total - attr.logit) < 1e-4


def test_attribution_refuses_a_token_or_position_that_does_not_exist() -> None:
    model = random_model()
    trace = model.trace(ids_for(model))
    with pytest.raises(ValueError, match="token id 64 does not exist: this model's ids are 0..63"):
        direct_logit_attribution(model, trace, 0, 64)
    with pytest.raises(ValueError, match="position 12 is past the text"):
        direct_logit_attribution(model, trace, 12, 0)
