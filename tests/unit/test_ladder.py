"""The architecture ladder's switches: each one changes exactly what it says, on every path, in every file.

One GPT class, parts switched off in its config (gpt/config.py): no MLP, no residual connections, no
LayerNorm, no position vectors, no blocks. Every rung of the lab (gpt/labs/ladder.py) gives the same
logits on the fast, traced and KV-cached paths, and round-trips through a checkpoint.
"""

from __future__ import annotations

import json

import pytest
import torch

from gpt import GPT, ConfigError, GPTConfig, load_checkpoint, save_checkpoint
from gpt.checkpoint import SIDECAR
from gpt.labs import ladder
from gpt.tokenizers import get_tokenizer
from gpt.train.cli import gather_options
from gpt.train.settings import FIXED_ON_RESUME, TrainSettings

VOCAB = 40
SMALL = {"vocab_size": VOCAB, "block_size": 12, "n_layer": 2, "n_head": 2, "n_embd": 16}


def model(seed: int = 0, **changes: object) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**SMALL, **changes})).eval()


def rung_model(rung: ladder.Rung, seed: int = 0) -> GPT:
    """The rung's own model shape, with a small vocabulary and context so the tests stay quick."""
    cfg = rung.settings().model_config(VOCAB).with_changes(block_size=12)
    torch.manual_seed(seed)
    return GPT(cfg).eval()


def stream(seed: int = 1) -> torch.Tensor:
    return torch.randn(1, 7, SMALL["n_embd"], generator=torch.Generator().manual_seed(seed))


def names(m: GPT) -> set[str]:
    return {name for name, _ in m.named_parameters()}


# ------------------------------------------------------------------------------------ each switch


@torch.no_grad()
def test_without_the_mlp_a_block_has_no_mlp_parameters_and_adds_attention_only() -> None:
    m = model(mlp=False)
    assert not [n for n in names(m) if ".mlp." in n or ".ln_2." in n]
    assert names(model()) - names(m) == {n for n in names(model()) if ".mlp." in n or ".ln_2." in n}
    block, x = m.h[0], stream()
    assert torch.allclose(block(x), x + block.attn(block.ln_1(x)), atol=1e-6)


@torch.no_grad()
def test_without_residuals_a_block_outputs_its_last_sublayer_alone() -> None:
    m = model(residual=False)
    block, x = m.h[0], stream()
    attended = block.attn(block.ln_1(x))  # replaces x instead of being added to it
    assert torch.allclose(block(x), block.mlp(block.ln_2(attended)), atol=1e-6)
    bare = model(residual=False, mlp=False).h[0]
    assert torch.allclose(bare(x), bare.attn(bare.ln_1(x)), atol=1e-6)
    assert names(model(residual=False)) == names(model())  # the same weights, wired differently


@torch.no_grad()
def test_without_layernorm_no_vector_is_normalised_and_no_norm_has_parameters() -> None:
    m = model(layernorm=False)
    assert not any(isinstance(mod, torch.nn.LayerNorm) for mod in m.modules())
    assert not [n for n in names(m) if "ln_" in n]
    block, x = m.h[0], stream()
    mid = x + block.attn(x)
    assert torch.allclose(block(x), mid + block.mlp(mid), atol=1e-6)
    ids = torch.randint(0, VOCAB, (1, 9))
    hidden = m.wte(ids) + m.position_embeddings(9, ids.device)
    for b in m.h:
        hidden = b(hidden)
    assert torch.allclose(m(ids)[0], m.lm_head(hidden), atol=1e-5)  # and no ln_f before the output layer


@torch.no_grad()
def test_without_position_vectors_nothing_is_added_and_order_is_invisible_to_a_bigram() -> None:
    m = model(n_layer=0, pos_encoding="none", tie_embeddings=False)
    assert names(m) == {"wte.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight"}
    assert torch.equal(m.position_embeddings(5, torch.device("cpu")), torch.zeros(5, SMALL["n_embd"]))
    ids = torch.tensor([[3, 7, 3, 9, 3]])
    logits, _ = m(ids)
    assert torch.allclose(logits, m.lm_head(m.ln_f(m.wte(ids))), atol=1e-6)  # a lookup: token in, scores out
    assert torch.allclose(logits[0, 0], logits[0, 2]) and torch.allclose(logits[0, 0], logits[0, 4])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_layer": -1}, "n_layer must be at least 0"),
        ({"n_layer": 0, "mlp": False}, "n_layer 0 has no blocks"),
        ({"n_layer": 0, "residual": False}, "n_layer 0 has no blocks"),
        ({"mlp": "no"}, "mlp must be true or false"),
        ({"residual": 0}, "residual must be true or false"),
        ({"layernorm": None}, "layernorm must be true or false"),
        ({"pos_encoding": "rope"}, "pos_encoding must be one of"),
    ],
)
def test_switches_that_make_no_model_are_refused_with_a_message(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GPTConfig(**{**SMALL, **changes})


# ------------------------------------------------------------------------------------ every rung


@pytest.mark.parametrize("rung", ladder.RUNGS, ids=ladder.RUNG_IDS)
@torch.no_grad()
def test_every_rung_gives_the_same_logits_fast_traced_and_cached(rung: ladder.Rung) -> None:
    m = rung_model(rung)
    ids = torch.randint(0, VOCAB, (1, 10), generator=torch.Generator().manual_seed(3))
    fast, _ = m(ids)
    trace = m.trace(ids[0])
    assert len(trace.layers) == m.config.n_layer
    assert torch.allclose(trace.logits, fast[0], atol=1e-5)
    cache = m.new_kv_cache()
    first = m.forward_cached(ids[:, :4], cache)  # a prompt, then one token at a time
    steps = [m.forward_cached(ids[:, t : t + 1], cache) for t in range(4, 10)]
    assert torch.allclose(first, fast[:, 3], atol=1e-5)
    assert torch.allclose(torch.stack(steps, dim=1), fast[:, 4:], atol=1e-5)


@pytest.mark.parametrize("rung", ladder.RUNGS, ids=ladder.RUNG_IDS)
def test_every_rung_round_trips_through_a_checkpoint(rung: ladder.Rung, tmp_path) -> None:
    tokenizer = get_tokenizer("char", "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM")
    m = rung_model(rung)
    save_checkpoint(tmp_path / "ckpt", m, tokenizer)
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert loaded.model.config == m.config
    ids = torch.arange(10)[None] % tokenizer.vocab_size
    assert torch.equal(loaded.model(ids)[0], m(ids)[0])


def test_a_checkpoint_from_before_the_switches_loads_with_every_part_on(tmp_path) -> None:
    tokenizer = get_tokenizer("char", "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM")
    m = model()
    save_checkpoint(tmp_path / "old", m, tokenizer)
    sidecar = tmp_path / "old" / SIDECAR
    meta = json.loads(sidecar.read_text())
    for new in ("mlp", "residual", "layernorm"):
        del meta["config"][new]  # what an older version wrote
    sidecar.write_text(json.dumps(meta))
    loaded = load_checkpoint(tmp_path / "old")
    assert (loaded.model.config.mlp, loaded.model.config.residual, loaded.model.config.layernorm) == (True,) * 3
    ids = torch.arange(8)[None]
    assert torch.equal(loaded.model(ids)[0], m(ids)[0])


# ------------------------------------------------------------------------------------ the command line


@pytest.mark.parametrize("rung", ladder.RUNGS, ids=ladder.RUNG_IDS)
def test_every_rungs_command_line_gives_back_its_settings(rung: ladder.Rung) -> None:
    settings, worker, _ = gather_options(ladder.train_argv(rung, 1338, "/tmp/never-written"))
    assert settings == rung.settings(1338)
    assert worker.out == "/tmp/never-written"


def test_the_switches_are_model_knobs_fixed_on_resume_with_flags_that_switch_off() -> None:
    assert {"mlp", "residual", "layernorm"} <= set(FIXED_ON_RESUME)
    off = TrainSettings(mlp=False, residual=False, layernorm=False, n_layer=1, pos_encoding="none")
    assert {"--no-mlp", "--no-residual", "--no-layernorm"} <= set(off.to_argv())
    cfg = off.model_config(VOCAB)
    assert (cfg.mlp, cfg.residual, cfg.layernorm, cfg.pos_encoding) == (False, False, False, "none")
    assert TrainSettings.from_dict({"n_layer": 2}).mlp  # a run.json from before the switches
