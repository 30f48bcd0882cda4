"""Cross-check against a peer: TransformerLens's HookedTransformer with the same random GPT-2-shaped weights.

transformer_lens is not a dependency of this project (it pulls a second copy of torch and much more),
so this file is skipped where it is missing. To run it, in a throwaway environment:

    python3 -m venv /tmp/tlvenv && /tmp/tlvenv/bin/pip install "transformer_lens==3.9.0" pytest tiktoken  # 4.x has no HookedTransformer
    PYTHONPATH=. /tmp/tlvenv/bin/python -m pytest --noconftest -p no:cacheprovider tests/unit/test_why_transformer_lens.py

Nothing is downloaded: both models are built from one config and one set of weights.
"""

from __future__ import annotations

import pytest
import torch

from gpt import GPT, GPTConfig
from gpt.interpret import direct_logit_attribution, knockout_options, log_prob, logit_lens

SKIP_WHY = "the TransformerLens cross-check needs transformer_lens, which is not a dependency (see above)"
transformer_lens = pytest.importorskip("transformer_lens", reason=SKIP_WHY)

# GPT-2's shapes except the vocabulary and context, which only make the test slower.
CONFIG = GPTConfig(vocab_size=2000, block_size=64, n_layer=12, n_head=12, n_embd=768)
TOKENS = 48


def to_hooked(model: GPT):
    """A HookedTransformer holding exactly ``model``'s weights (no LayerNorm folding, no centring)."""
    cfg = model.config
    hs = cfg.head_size
    tl_cfg = transformer_lens.HookedTransformerConfig(
        n_layers=cfg.n_layer,
        d_model=cfg.n_embd,
        d_head=hs,
        n_heads=cfg.n_head,
        d_mlp=4 * cfg.n_embd,
        d_vocab=cfg.vocab_size,
        n_ctx=cfg.block_size,
        act_fn="gelu_new",  # GPT-2's tanh GELU
        normalization_type="LN",
        default_prepend_bos=False,
    )
    hooked = transformer_lens.HookedTransformer(tl_cfg)
    state = {"embed.W_E": model.wte.weight, "pos_embed.W_pos": model.wpe.weight}
    for i, block in enumerate(model.h):
        w_q, w_k, w_v = block.attn.c_attn.weight.split(cfg.n_embd)  # (C, C) each: out = x @ W^T
        b_q, b_k, b_v = block.attn.c_attn.bias.split(cfg.n_embd)
        for name, w, b in (("Q", w_q, b_q), ("K", w_k, b_k), ("V", w_v, b_v)):
            state[f"blocks.{i}.attn.W_{name}"] = w.view(cfg.n_head, hs, cfg.n_embd).transpose(1, 2)
            state[f"blocks.{i}.attn.b_{name}"] = b.view(cfg.n_head, hs)
        w_o = block.attn.c_proj.weight  # (C, C): columns h*hs.. are head h's
        state[f"blocks.{i}.attn.W_O"] = w_o.view(cfg.n_embd, cfg.n_head, hs).permute(1, 2, 0)
        state[f"blocks.{i}.attn.b_O"] = block.attn.c_proj.bias
        state[f"blocks.{i}.ln1.w"], state[f"blocks.{i}.ln1.b"] = block.ln_1.weight, block.ln_1.bias
        state[f"blocks.{i}.ln2.w"], state[f"blocks.{i}.ln2.b"] = block.ln_2.weight, block.ln_2.bias
        state[f"blocks.{i}.mlp.W_in"], state[f"blocks.{i}.mlp.b_in"] = block.mlp.c_fc.weight.T, block.mlp.c_fc.bias
        state[f"blocks.{i}.mlp.W_out"] = block.mlp.c_proj.weight.T
        state[f"blocks.{i}.mlp.b_out"] = block.mlp.c_proj.bias
    state["ln_final.w"], state["ln_final.b"] = model.ln_f.weight, model.ln_f.bias
    state["unembed.W_U"] = model.lm_head.weight.T
    state["unembed.b_U"] = torch.zeros(cfg.vocab_size)
    missing, unexpected = hooked.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)
    assert not unexpected and all(k.endswith(("IGNORE", "mask")) for k in missing), (missing, unexpected)
    return hooked.eval()


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    ids = torch.randint(0, CONFIG.vocab_size, (TOKENS,)).tolist()
    return model, to_hooked(model), ids


def test_the_two_models_compute_the_same_logits(pair) -> None:
    model, hooked, ids = pair
    with torch.no_grad():
        assert torch.allclose(hooked(torch.tensor([ids]))[0], model(torch.tensor([ids]))[0][0], atol=1e-4)


def test_logit_lens_agrees_with_transformer_lens(pair) -> None:
    model, hooked, ids = pair
    with torch.no_grad():
        _, cache = hooked.run_with_cache(torch.tensor([ids]))
        stream = cache.accumulated_resid(incl_mid=True, apply_ln=False)[:, 0]  # (P, T, C): embeddings, mid, post...
        theirs = torch.softmax(hooked.unembed(hooked.ln_final(stream)), dim=-1)  # (P, T, vocab)
    lens = logit_lens(model, model.trace(ids), k=10, points="every")
    assert lens.top_ids.shape[0] == stream.shape[0] == 2 * CONFIG.n_layer + 1
    assert torch.allclose(lens.top_probs, theirs.gather(-1, lens.top_ids), atol=1e-4)


def test_per_head_attribution_agrees_with_transformer_lens(pair) -> None:
    model, hooked, ids = pair
    position = TOKENS - 1
    trace = model.trace(ids)
    target = int(trace.logits_at(position).argmax())
    ours = direct_logit_attribution(model, trace, position, target).head_matrix()
    with torch.no_grad():
        _, cache = hooked.run_with_cache(torch.tensor([ids]))
        heads = cache.stack_head_results(layer=-1, pos_slice=position, apply_ln=True)[:, 0]  # (L*nh, C), frozen scale
        theirs = (heads * hooked.ln_final.w) @ hooked.W_U[:, target]
    assert torch.allclose(ours.flatten(), theirs.double(), atol=1e-4)


@pytest.mark.parametrize("kind", ["mean", "zero"])
def test_knockout_effects_agree_with_transformer_lens(pair, kind: str) -> None:
    model, hooked, ids = pair
    position, heads = TOKENS - 1, [(3, 5), (7, 2)]
    trace = model.trace(ids)
    target = int(trace.logits_at(position).argmax())
    knocked = model.trace(ids, knockout_options(heads, kind))
    ours = log_prob(knocked, position, target) - log_prob(trace, position, target)

    def replace(z: torch.Tensor, hook) -> torch.Tensor:  # z: (batch, pos, head, d_head)
        layer = int(hook.name.split(".")[1])
        for at, head in heads:
            if at == layer:
                seen = torch.arange(1, z.shape[1] + 1, dtype=z.dtype).view(1, -1, 1)
                z[:, :, head] = 0.0 if kind == "zero" else z[:, :, head].cumsum(dim=1) / seen  # running mean
        return z

    hooks = [(f"blocks.{layer}.attn.hook_z", replace) for layer in sorted({a for a, _ in heads})]
    with torch.no_grad():
        before = torch.log_softmax(hooked(torch.tensor([ids]))[0, position].double(), -1)[target]
        after = torch.log_softmax(hooked.run_with_hooks(torch.tensor([ids]), fwd_hooks=hooks)[0, position].double(), -1)
    assert abs(ours - float(after[target] - before)) < 1e-4
