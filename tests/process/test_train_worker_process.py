"""The training worker as a real OS process: SIGTERM, a dying parent, torchrun with 2 CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpt.checkpoint import load_checkpoint
from gpt.runs.layout import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8"]
FAST = ["--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "2", "--threads", "1"]


def start_worker(corpus: Path, run: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gpt.train", "--data", str(corpus), "--out", str(run), *TINY, *FAST, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def wait_for_steps(run: Path, proc: subprocess.Popen, steps: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = read_jsonl(run / "metrics.jsonl")
        if rows and rows[-1]["iter"] >= steps and (run / "checkpoint").is_dir():
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.1)
    raise AssertionError("worker made no progress")


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_writes_stopped(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = start_worker(corpus, run, "--max-iters", "100000", "--eval-interval", "100000")
    try:
        wait_for_steps(run, proc, 4)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    st = status(run)
    assert st["state"] == "stopped" and "resumed from its checkpoint" in st["message"]
    assert st["iter"] >= 4 and st["max_iters"] == 100000
    loaded = load_checkpoint(run / "checkpoint")
    assert loaded.meta["iter"] == st["iter"]  # the checkpoint holds the step it stopped at
    summary = json.loads((run / "summary.json").read_text())
    assert summary["state"] == "stopped" and summary["iters"] == st["iter"]
    assert summary["final_val_loss"] is not None  # a stopped run still gets its final evaluation


@pytest.mark.slow
def test_worker_stops_when_its_parent_dies(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    proc = start_worker(
        corpus, run, "--max-iters", "100000", "--eval-interval", "100000", "--parent-pid", str(parent.pid)
    )
    try:
        wait_for_steps(run, proc, 4)
        parent.kill()
        parent.wait()  # reap it: a zombie would still look alive
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
        parent.kill()
    st = status(run)
    assert st["state"] == "interrupted" and "resumed from its checkpoint" in st["message"]
    assert load_checkpoint(run / "checkpoint").meta["iter"] == st["iter"]
    assert not (run / "summary.json").exists()


@pytest.mark.slow
def test_torchrun_two_cpu_processes_with_gloo(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "gpt.train", "--data", str(corpus)]
    cmd += ["--out", str(run), *TINY, *FAST, "--max-iters", "6", "--eval-interval", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert status(run)["state"] == "finished"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["iters"] == 6 and summary["final_val_loss"] is not None
    # Only rank 0 writes: one line per evaluation, not two.
    assert [p["iter"] for p in read_jsonl(run / "probe.jsonl")] == [0, 3, 6]
    assert [m["iter"] for m in read_jsonl(run / "metrics.jsonl") if "val_loss" in m] == [0, 3, 6]
    # Two processes x batch 8 x block 16 tokens per step.
    assert json.loads((run / "run.json").read_text())["options"]["batch_size"] == 8
    assert load_checkpoint(run / "checkpoint").meta["iter"] == 6


def test_bad_config_from_the_real_command_line_has_no_traceback(corpus: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "gpt.train", "--data", str(corpus), "--out", str(tmp_path / "r")]
    done = subprocess.run([*cmd, "--n-embd", "30", "--n-head", "4"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: n_embd (30) must be divisible by n_head (4) so that every head gets the same number of dimensions"
    )
