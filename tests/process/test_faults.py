"""Faults injected for real: a checkpoint writer killed with SIGKILL at random moments, a worker out of
memory, a disk that fills up during a checkpoint write."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gpt.checkpoint import load_checkpoint, usable_checkpoint_dir
from gpt.runs import JobManager, RunInfo
from gpt.train import TrainSettings
from tests.conftest import TINY_CORPUS_TEXT
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
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


# ---------------------------------------------------------------- a real worker meets the machine's limits

# The real worker (``python -m gpt.train``) with its address space capped, so an absurd batch fails
# to allocate at once instead of pushing the test machine into swap or the kernel's OOM killer.
LIMITED_WORKER = (
    sys.executable,
    "-c",
    "import resource, runpy, sys\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "runpy.run_module('gpt.train', run_name='__main__', alter_sys=True)\n",
    str(4 * 1024**3),
)
SMALL = TrainSettings(
    n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4, max_iters=30, eval_interval=10, eval_iters=1
)


def _final_state(manager: JobManager, run_id: str, timeout: float = 120) -> RunInfo:
    wait_until(lambda: manager.get_run(run_id).state not in ("queued", "running"), timeout, f"{run_id} to end")
    return manager.get_run(run_id)


@pytest.mark.slow
def test_out_of_memory_fails_the_run_with_advice_and_the_server_carries_on(isolated_runs_dir: Path) -> None:
    manager = JobManager(isolated_runs_dir, command=LIMITED_WORKER, poll_interval=0.05)
    try:
        absurd = replace(SMALL, n_head=4, n_embd=256, block_size=256, batch_size=8192)  # ~2 GB per activation
        info = _final_state(manager, manager.submit("absurd batch", absurd, "cpu", upload=TINY_CORPUS_TEXT.encode()))
        assert info.state == "failed" and info.status["cause"] == "out_of_memory"
        assert info.message.startswith("out of memory") and "smaller batch size" in info.message
        assert not info.resumable
        assert "Traceback" not in (info.path / "worker.log").read_text()
        # the same manager (the server) runs the next, sensible run to the end
        assert (
            _final_state(manager, manager.submit("sensible", SMALL, "cpu", upload=TINY_CORPUS_TEXT.encode())).state
            == "finished"
        )
    finally:
        manager.close()


@pytest.mark.slow
def test_a_full_disk_fails_the_run_as_disk_full_keeps_its_checkpoint_and_it_resumes(small_tmpfs: Path) -> None:
    manager = JobManager(small_tmpfs, poll_interval=0.05)
    try:
        settings = replace(SMALL, n_layer=2, n_embd=64, max_iters=200, eval_interval=5)
        run_id = manager.submit("full disk", settings, "cpu", upload=TINY_CORPUS_TEXT.encode())
        info = _final_state(manager, run_id)
        assert info.state == "failed" and info.status.get("cause") == "disk_full", (info.message, info.status)
        assert info.message.startswith("disk full") and "resume" in info.message
        saved = load_checkpoint(info.path / "checkpoint")  # the previous checkpoint is intact
        assert saved.meta["iter"] == 5 and info.resumable
        # space is freed (here: the disk grows); the run continues from its checkpoint and finishes
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
        manager.resume(run_id)
        wait_until(lambda: manager.get_run(run_id).state == "running", 60, "the resumed run to start")
        assert _final_state(manager, run_id).state == "finished"
        assert load_checkpoint(info.path / "checkpoint").meta["iter"] == 200
    finally:
        manager.close()
