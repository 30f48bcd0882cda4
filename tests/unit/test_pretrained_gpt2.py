"""GPT-2 weights: folder loading, the download's progress reporting, and clear offline messages."""

from __future__ import annotations

import json

import pytest
import torch

from gpt.checkpoint import CheckpointError
from gpt.pretrained import (
    GELU_TANH_NAMES,
    HF_FILES,
    HF_REPO,
    download_gpt2,
    gpt2_available,
    gpt_from_hf_state_dict,
    load_gpt2,
    missing_gpt2_message,
)


def _write_hf_folder(folder, transformers) -> torch.nn.Module:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(folder / "model.safetensors"))
    return model


def test_load_gpt2_from_a_hugging_face_folder(tmp_path) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    hf_model = _write_hf_folder(tmp_path / "gpt2", transformers)
    assert gpt2_available(tmp_path / "gpt2")
    ours = load_gpt2(tmp_path / "gpt2")
    ids = torch.randint(0, 50, (1, 12))
    with torch.no_grad():
        assert torch.allclose(ours(ids)[0], hf_model(ids).logits, atol=1e-5)


def test_missing_weights_say_where_to_put_them(tmp_path) -> None:
    assert not gpt2_available(tmp_path)
    with pytest.raises(CheckpointError, match="huggingface.co/openai-community/gpt2"):
        load_gpt2(tmp_path)
    assert str(tmp_path) in missing_gpt2_message(tmp_path)


def test_download_reports_progress_through_the_callback(tmp_path, monkeypatch) -> None:
    import huggingface_hub

    calls = []

    def fake_download(repo_id, filename, *, local_dir, tqdm_class=None, **kwargs):
        assert repo_id == HF_REPO
        bar = tqdm_class(total=1000, disable=True)
        for _ in range(4):
            bar.update(250)
        bar.close()
        (local_dir / filename).write_text("x")
        return str(local_dir / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    download_gpt2(tmp_path / "gpt2", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (1000, 1000)
    assert [done for done, _ in calls[: len(calls) // len(HF_FILES)]] == [250, 500, 750, 1000]
    assert all((tmp_path / "gpt2" / name).is_file() for name in HF_FILES)


def test_a_failed_download_leaves_nothing_usable(tmp_path, monkeypatch) -> None:
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(OSError):
        download_gpt2(tmp_path / "gpt2")
    assert not gpt2_available(tmp_path / "gpt2")


TINY_HF = {
    "vocab_size": 50,
    "n_positions": 16,
    "n_embd": 16,
    "n_layer": 2,
    "n_head": 2,
    "bos_token_id": 0,
    "eos_token_id": 0,
}


def _random_hf_model(transformers, **changes) -> torch.nn.Module:
    """transformers' own GPT-2 with random weights and the given config changes (no download)."""
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(**TINY_HF, **changes)).eval()


def _assert_same_logits(ours: torch.nn.Module, hf_model: torch.nn.Module) -> None:
    ids = torch.randint(0, TINY_HF["vocab_size"], (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids)[0], hf_model(ids).logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "changes",
    [
        {"tie_word_embeddings": False},
        # Only the eager path reads this flag; in float32 it is the same attention.
        {"reorder_and_upcast_attn": True, "attn_implementation": "eager"},
        {"n_inner": 4 * TINY_HF["n_embd"]},
        {"layer_norm_epsilon": 1e-5},
        *({"activation_function": name} for name in GELU_TANH_NAMES),
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
def test_supported_hf_configs_give_transformers_logits(changes) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    hf_model = _random_hf_model(transformers, **changes)
    ours = gpt_from_hf_state_dict(hf_model.state_dict(), hf_model.config.to_dict())
    _assert_same_logits(ours, hf_model)


def test_an_untied_hf_output_layer_is_loaded_as_its_own_matrix(tmp_path) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    from safetensors.torch import save_file

    hf_model = _random_hf_model(transformers, tie_word_embeddings=False)
    assert not torch.equal(hf_model.lm_head.weight, hf_model.transformer.wte.weight)
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(hf_model.config.to_dict()))
    save_file({k: v.contiguous() for k, v in hf_model.state_dict().items()}, str(folder / "model.safetensors"))
    ours = load_gpt2(folder)
    assert ours.config.tie_embeddings is False
    assert ours.lm_head.weight.data_ptr() != ours.wte.weight.data_ptr()
    assert torch.equal(ours.lm_head.weight, hf_model.lm_head.weight)
    _assert_same_logits(ours, hf_model)


def test_an_untied_hf_config_without_its_output_layer_is_refused() -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    hf_model = _random_hf_model(transformers, tie_word_embeddings=False)
    state = {k: v for k, v in hf_model.state_dict().items() if k != "lm_head.weight"}
    with pytest.raises(CheckpointError, match="missing lm_head.weight"):
        gpt_from_hf_state_dict(state, hf_model.config.to_dict())


# Each changes what the model computes (or its weights), and none is implemented here.
UNSUPPORTED = [
    ("layer_norm_epsilon", 1e-6),
    ("scale_attn_by_inverse_layer_idx", True),
    ("scale_attn_weights", False),
    ("activation_function", "gelu"),
    ("activation_function", "relu"),
    ("n_inner", 24),
    ("add_cross_attention", True),
]


@pytest.mark.parametrize(("field", "value"), UNSUPPORTED, ids=lambda x: str(x))
def test_unsupported_hf_configs_are_refused_naming_the_field(field, value) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    hf_model = _random_hf_model(transformers, **{field: value})
    with pytest.raises(CheckpointError) as info:
        gpt_from_hf_state_dict(hf_model.state_dict(), hf_model.config.to_dict())
    message = str(info.value)
    assert f"{field}={value!r}" in message and "supported" in message


@pytest.mark.parametrize(
    ("field", "value"), [("model_type", "gpt_neo"), ("pruned_heads", {"0": [1]}), ("tie_word_embeddings", "no")]
)
def test_other_models_and_malformed_hf_configs_are_refused_naming_the_field(field, value) -> None:
    config = {**TINY_HF, "model_type": "gpt2", field: value}
    with pytest.raises(CheckpointError, match=f"{field}="):
        gpt_from_hf_state_dict({}, config)


def test_a_folder_with_an_unsupported_config_is_refused(tmp_path) -> None:
    transformers = pytest.importorskip("transformers", reason="transformers is optional, only a cross-check")
    _write_hf_folder(tmp_path / "gpt2", transformers)
    config_path = tmp_path / "gpt2" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "layer_norm_epsilon": 1e-6}))
    with pytest.raises(CheckpointError, match="layer_norm_epsilon=1e-06"):
        load_gpt2(tmp_path / "gpt2")
