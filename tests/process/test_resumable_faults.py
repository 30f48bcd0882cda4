"""Faults that leave a run resumable: a worker SIGKILLed in the middle of a checkpoint write, and a
full disk whose message says how much space resuming needs (both with the real worker)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpt.checkpoint import load_checkpoint
from gpt.runs import JobManager, RunInfo
from gpt.train import TrainSettings
from tests.conftest import TINY_CORPUS_TEXT
from tests.helpers import wait_until

# The real worker, which kills itself (SIGKILL, as the kernel's out-of-memory killer would) on its
# second checkpoint save: after the new checkpoint is written beside the old one, before the swap.
KILLED_MID_SAVE = (
    sys.executable,
    "-c",
    "import os, runpy, signal\n"
    "import gpt.checkpoint as checkpoint\n"
    "saves = []\n"
    "swap = checkpoint._swap_into_place\n"
    "def killed_on_second(tmp, path):\n"
    "    saves.append(tmp)\n"
    "    if len(saves) == 2:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    swap(tmp, path)\n"
    "checkpoint._swap_into_place = killed_on_second\n"
    "runpy.run_module('gpt.train', run_name='__main__', alter_sys=True)\n",
)
SMALL = TrainSettings(
    n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=4, max_iters=30, eval_interval=10, eval_iters=1
)


def final_state(manager: JobManager, run_id: str, timeout: float = 180) -> RunInfo:
    wait_until(lambda: manager.get_run(run_id).state not in ("queued", "running"), timeout, f"{run_id} to end")
    return manager.get_run(run_id)


@pytest.mark.slow
def test_a_worker_killed_during_a_checkpoint_write_is_resumable_and_leaves_no_temp_folder(
    isolated_runs_dir: Path,
) -> None:
    killer = JobManager(isolated_runs_dir, command=KILLED_MID_SAVE, poll_interval=0.05)
    try:
        run_id = killer.submit("killed", SMALL, "cpu", upload=TINY_CORPUS_TEXT.encode())
        info = final_state(killer, run_id)
    finally:
        killer.close()
    saved = load_checkpoint(info.path / "checkpoint").meta["iter"]  # the previous checkpoint, intact
    assert info.state == "failed" and info.status.get("cause") == "killed", (info.message, info.status)
    assert "SIGKILL" in info.message and "out of memory" in info.message and "smaller batch size" in info.message
    assert f"checkpoint at step {saved} is intact" in info.message
    assert info.resumable
    assert sorted(p.name for p in info.path.iterdir() if p.name.startswith(".")) == []  # no half-written copy
    server = JobManager(isolated_runs_dir, poll_interval=0.05)  # the real worker this time
    try:
        server.resume(run_id)
        assert final_state(server, run_id).state == "finished"
        assert load_checkpoint(info.path / "checkpoint").meta["iter"] == SMALL.max_iters
    finally:
        server.close()


def used_bytes(mount: Path) -> int:
    st = os.statvfs(mount)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.mark.slow
def test_the_disk_full_message_says_how_much_space_resuming_needs_and_that_is_enough(small_tmpfs: Path) -> None:
    manager = JobManager(small_tmpfs, poll_interval=0.05)
    try:
        settings = TrainSettings(
            n_layer=2, n_head=2, n_embd=64, block_size=32, batch_size=4, max_iters=40, eval_interval=5, eval_iters=1
        )
        run_id = manager.submit("full disk", settings, "cpu", upload=TINY_CORPUS_TEXT.encode())
        info = final_state(manager, run_id)
        assert info.state == "failed" and info.status.get("cause") == "disk_full", (info.message, info.status)
        found = re.search(r"free at least (\d+) MB of disk space, then resume it", info.message)
        assert found, info.message
        need_mb = int(found.group(1))
        checkpoint_mb = sum(f.stat().st_size for f in (info.path / "checkpoint").iterdir()) / 1e6
        saved = load_checkpoint(info.path / "checkpoint").meta["iter"]
        assert checkpoint_mb < need_mb <= 2 * checkpoint_mb + 2  # more than one checkpoint, not absurdly more
        # Exactly the stated amount is freed (the disk grows to what is used plus that): it is enough.
        size = used_bytes(small_tmpfs) + need_mb * 1_000_000
        subprocess.run(["mount", "-o", f"remount,size={size}", str(small_tmpfs)], check=True)
        manager.resume(run_id)
        wait_until(lambda: manager.get_run(run_id).state == "running", 60, "the resumed run to start")
        final_state(manager, run_id)  # finished, or the disk is full again further on
        assert load_checkpoint(info.path / "checkpoint").meta["iter"] > saved, manager.get_run(run_id).message
    finally:
        manager.close()
