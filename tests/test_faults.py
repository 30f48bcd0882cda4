"""Faults injected for real: a checkpoint writer killed with SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gpt.checkpoint import load_checkpoint, usable_checkpoint_dir

ROOT = Path(__file__).resolve().parent.parent
KILLS = 8

WRITER = """
import sys, torch
from gpt import GPT, preset, get_tokenizer, save_checkpoint
path, start = sys.argv[1], int(sys.argv[2])
model = GPT(preset("tiny", n_embd=128, n_head=4, vocab_size=2000, block_size=64))
tok = get_tokenizer("char", "abc")
i = start
while True:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(i))
    save_checkpoint(path, model, tok, {"iter": i})
    print(i, flush=True)
    i += 1
"""


def _check_intact(path: Path) -> int:
    loaded = load_checkpoint(path)
    it = loaded.meta["iter"]
    # every weight holds the iteration number it was written at: no mix of two versions
    for p in loaded.model.parameters():
        assert torch.all(p == float(it)), "checkpoint mixes tensors from different saves"
    return it


@pytest.mark.slow
def test_kill_9_during_checkpoint_writes_never_leaves_a_broken_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint"
    rng = random.Random(0)
    start = 0
    kills = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        first = proc.stdout.readline()  # at least one complete save exists from here on
        assert first.strip(), "writer failed to start"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        last_it = _check_intact(path)
        assert last_it >= int(first)
        start = last_it + 1
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "checkpoint"]
        # temp/aside folders may remain after a kill, but never more than the interrupted save's
        assert len(leftovers) <= 2, leftovers
    assert kills == KILLS
    assert usable_checkpoint_dir(path) is not None


def test_a_writer_killed_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    from gpt import GPT, get_tokenizer, preset, save_checkpoint

    path = tmp_path / "checkpoint"
    model = GPT(preset("tiny"))
    tok = get_tokenizer("char", "abc")
    save_checkpoint(path, model, tok, {"iter": 1})
    os.replace(path, tmp_path / ".old-checkpoint-123-456")  # the state a kill leaves in that window
    assert load_checkpoint(path).meta["iter"] == 1  # readers use the aside copy
    save_checkpoint(path, model, tok, {"iter": 2})  # the next save restores and replaces it
    assert load_checkpoint(path).meta["iter"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import gpt.checkpoint as ckpt
    from gpt import GPT, get_tokenizer, preset, save_checkpoint

    path = tmp_path / "checkpoint"
    model = GPT(preset("tiny"))
    tok = get_tokenizer("char", "abc")
    save_checkpoint(path, model, tok, {"iter": 1})

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt, "save_file", no_space)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, model, tok, {"iter": 2})
    assert load_checkpoint(path).meta["iter"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
