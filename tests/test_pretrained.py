"""GPT-2 weights: folder loading, the download's progress reporting, and clear offline messages."""

from __future__ import annotations

import json

import pytest
import torch

from gpt.checkpoint import CheckpointError
from gpt.pretrained import HF_FILES, HF_REPO, download_gpt2, gpt2_available, load_gpt2, missing_gpt2_message


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
    transformers = pytest.importorskip("transformers")
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
