"""Damaged checkpoints are found and named, never silently used; shipping a model drops the optimizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from gpt.checkpoint import CheckpointError, load_checkpoint, load_optimizer_state
from gpt.runs.export import export_model
from gpt.train.cli import main
from tests.conftest import TINY_CORPUS_TEXT

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ckpt")
    corpus = base / "tiny.txt"
    corpus.write_text(TINY_CORPUS_TEXT, encoding="utf-8")
    run = base / "run"
    args = ["--data", str(corpus), "--out", str(run), *TINY, "--max-iters", "4", "--eval-interval", "4"]
    assert main([*args, "--eval-iters", "1", "--sample-tokens", "4"]) == 0
    return run


@pytest.fixture
def run(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def flip_byte(path: Path, offset: int = -10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_weight_byte_is_detected(run: Path) -> None:
    flip_byte(run / "checkpoint" / "model.safetensors")
    with pytest.raises(CheckpointError, match="corrupt or half-written"):
        load_checkpoint(run / "checkpoint")


def test_half_written_optimizer_file_is_detected(run: Path) -> None:
    opt = run / "checkpoint" / "optimizer.safetensors"
    opt.write_bytes(opt.read_bytes()[: opt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or half-written"):
        load_optimizer_state(run / "checkpoint")


def test_damaged_or_missing_sidecar(run: Path) -> None:
    sidecar = run / "checkpoint" / "checkpoint.json"
    sidecar.write_text('{"config": {"n_layer": ', encoding="utf-8")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(run / "checkpoint")
    sidecar.unlink()
    with pytest.raises(CheckpointError, match="checkpoint.json is missing"):
        load_checkpoint(run / "checkpoint")


def test_resume_from_a_corrupt_checkpoint_fails_with_one_clear_line(run: Path, capsys) -> None:
    flip_byte(run / "checkpoint" / "model.safetensors")
    assert main(["--resume", str(run), "--max-iters", "8"]) == 2
    err = capsys.readouterr().err
    assert "corrupt or half-written" in err and "Traceback" not in err


def test_leftover_temp_folder_of_a_killed_save_does_not_matter(run: Path) -> None:
    # A save killed mid-way leaves a hidden temp folder beside the checkpoint; the checkpoint itself
    # is still the previous complete one.
    half = run / ".tmp-checkpoint-killed"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"\x00" * 100)
    loaded = load_checkpoint(run / "checkpoint")
    assert loaded.meta["iter"] == 4


def test_exported_model_has_no_optimizer_and_same_predictions(run: Path, tmp_path: Path) -> None:
    src = load_checkpoint(run / "checkpoint")
    full = export_model(run / "checkpoint", tmp_path / "full")
    half = export_model(run / "checkpoint", tmp_path / "half", float16=True)
    assert not (full / "optimizer.safetensors").exists()
    assert "optimizer" not in json.loads((full / "checkpoint.json").read_text())
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_optimizer_state(full)
    ids = torch.tensor([src.tokenizer.encode("the cat sat")])
    logits = src.model(ids)[0]
    assert torch.equal(load_checkpoint(full).model(ids)[0], logits)
    h = load_checkpoint(half)
    assert h.meta["weights_dtype"] == "float16" and h.meta["iter"] == 4
    assert next(h.model.parameters()).dtype == torch.float32  # stored small, computed in float32
    assert torch.allclose(h.model(ids)[0], logits, atol=1e-2)
    assert (half / "model.safetensors").stat().st_size < 0.6 * (full / "model.safetensors").stat().st_size
