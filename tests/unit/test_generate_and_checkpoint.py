"""Generation controls, checkpoints (atomic, verified, no pickle) and the GPT-2 cross-check."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from gpt import (
    GPT,
    CheckpointError,
    SamplingSettings,
    generate,
    get_tokenizer,
    load_checkpoint,
    next_token_probs,
    preset,
    save_checkpoint,
)
from gpt.pretrained import gpt_from_hf_state_dict, load_gpt2


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("tiny")).eval()


def test_temperature_zero_is_greedy() -> None:
    logits = torch.tensor([1.0, 3.0, 2.0])
    assert next_token_probs(logits, SamplingSettings(temperature=0)).tolist() == [0.0, 1.0, 0.0]


def test_low_temperature_sharpens_and_high_flattens() -> None:
    logits = torch.tensor([1.0, 2.0, 3.0])
    cold = next_token_probs(logits, SamplingSettings(temperature=0.5))
    hot = next_token_probs(logits, SamplingSettings(temperature=2.0))
    assert cold.max() > torch.softmax(logits, -1).max() > hot.max()


def test_top_k_keeps_k_tokens() -> None:
    probs = next_token_probs(torch.arange(10.0), SamplingSettings(top_k=3))
    assert (probs > 0).sum() == 3 and probs[-3:].sum() == pytest.approx(1.0)


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    probs = next_token_probs(logits, SamplingSettings(top_p=0.7))
    assert probs.tolist() == pytest.approx([0.625, 0.375, 0.0, 0.0])


def test_same_seed_same_text_and_steps_report_alternatives() -> None:
    model = tiny_model()
    a = generate(model, [1, 2, 3], 20, SamplingSettings(seed=7))
    b = generate(model, [1, 2, 3], 20, SamplingSettings(seed=7))
    c = generate(model, [1, 2, 3], 20, SamplingSettings(seed=8))
    assert [s.token_id for s in a] == [s.token_id for s in b] != [s.token_id for s in c]
    for step in a:
        assert len(step.alternatives) == 5
        assert step.alternatives[0][1] >= step.alternatives[-1][1]
        assert 0 < step.prob <= 1


def test_generation_longer_than_the_context_crops_it() -> None:
    model = tiny_model()
    steps = generate(model, list(range(16)), 10, SamplingSettings(temperature=0))
    assert len(steps) == 10


def test_bad_sampling_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="top_p"):
        SamplingSettings(top_p=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(tiny_model(), [1], 10_000)


def test_save_then_load_gives_the_same_logits_tokenizer_and_meta(tmp_path) -> None:
    model = tiny_model(1)
    tokenizer = get_tokenizer("char", "abcdefgh")
    save_checkpoint(tmp_path / "ckpt", model, tokenizer, {"iter": 5})
    loaded = load_checkpoint(tmp_path / "ckpt")
    ids = torch.randint(0, 64, (1, 10))
    assert torch.equal(model(ids)[0], loaded.model(ids)[0])
    assert loaded.meta["iter"] == 5 and loaded.tokenizer.encode("abc") == [0, 1, 2]


def test_an_untied_output_layer_is_its_own_matrix_and_round_trips(tmp_path) -> None:
    torch.manual_seed(2)
    model = GPT(preset("tiny", tie_embeddings=False)).eval()
    assert model.lm_head.weight.data_ptr() != model.wte.weight.data_ptr()
    assert model.num_params() == GPT(preset("tiny")).num_params() + model.lm_head.weight.numel()
    save_checkpoint(tmp_path / "ckpt", model, get_tokenizer("char", "abcdefgh"), {"iter": 1})
    loaded = load_checkpoint(tmp_path / "ckpt")
    ids = torch.randint(0, 64, (1, 10))
    assert torch.equal(model(ids)[0], loaded.model(ids)[0])
    assert torch.equal(loaded.model.lm_head.weight, model.lm_head.weight)
    assert not torch.equal(loaded.model.lm_head.weight, loaded.model.wte.weight)


def test_overwriting_a_checkpoint_replaces_it_whole(tmp_path) -> None:
    tokenizer = get_tokenizer("char", "abcdefgh")
    save_checkpoint(tmp_path / "ckpt", tiny_model(1), tokenizer, {"iter": 1})
    save_checkpoint(tmp_path / "ckpt", tiny_model(2), tokenizer, {"iter": 2})
    assert load_checkpoint(tmp_path / "ckpt").meta["iter"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temp dirs left behind


def test_half_written_weights_are_detected(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "ckpt", tiny_model(), get_tokenizer("char", "abc"))
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="corrupt or half-written"):
        load_checkpoint(path)


def test_damaged_sidecar_is_detected(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "ckpt", tiny_model(), get_tokenizer("char", "abc"))
    (path / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)


def test_shape_mismatch_names_the_tensor(tmp_path) -> None:
    path = save_checkpoint(tmp_path / "ckpt", tiny_model(), get_tokenizer("char", "abc"))
    meta = json.loads((path / "checkpoint.json").read_text())
    meta["config"]["n_embd"] = 32
    meta["config"]["n_head"] = 2
    (path / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"wte\.weight has shape \(64, 16\) but the config needs \(64, 32\)"):
        load_checkpoint(path)


def test_optimizer_state_round_trips(tmp_path) -> None:
    from gpt.checkpoint import load_optimizer_state

    model = tiny_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randint(0, 64, (2, 8)), torch.randint(0, 64, (2, 8)))[1].backward()
    opt.step()
    path = save_checkpoint(tmp_path / "ckpt", model, get_tokenizer("char", "abc"), optimizer_state=opt.state_dict())
    restored = torch.optim.AdamW(model.parameters(), lr=1e-3)
    restored.load_state_dict(load_optimizer_state(path))
    for param in model.parameters():
        a, b = opt.state[param], restored.state[param]
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["step"], b["step"])


class _RunsCode:
    def __reduce__(self):
        return (exec, ("open('PWNED_MARKER', 'w').write('x')",))


def test_a_malicious_pickle_is_refused_and_does_not_run(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"vocab_size": 10, "n_positions": 8, "n_layer": 1, "n_head": 1, "n_embd": 4})
    )
    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump({"wte.weight": _RunsCode()}, f)
    with pytest.raises(CheckpointError):
        load_gpt2(folder)
    assert not (tmp_path / "PWNED_MARKER").exists()


@pytest.mark.parametrize(("seed", "n_layer", "n_head", "n_embd"), [(0, 2, 2, 32), (1, 3, 4, 48), (2, 1, 3, 24)])
def test_our_model_is_gpt2_logits_match_transformers(seed: int, n_layer: int, n_head: int, n_embd: int) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    torch.manual_seed(seed)
    hf_config = transformers.GPT2Config(
        vocab_size=97, n_positions=40, n_embd=n_embd, n_layer=n_layer, n_head=n_head, bos_token_id=0, eos_token_id=0
    )
    hf_model = transformers.GPT2LMHeadModel(hf_config).eval()
    ours = gpt_from_hf_state_dict(hf_model.state_dict(), hf_config.to_dict())
    ids = torch.randint(0, 97, (2, 33))
    with torch.no_grad():
        expected = hf_model(ids).logits
        got, _ = ours(ids)
        traced = ours.trace(ids[0]).logits
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(traced, expected[0], atol=1e-5)
