"""Reading run folders: torn lines, true status, downsampled curves, ETA, probes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from run_fixtures import PROBE_TOKENS, make_run

from gpt.runs.layout import read_jsonl
from gpt.runs.reader import (
    downsample,
    eta_seconds,
    head_score_series,
    list_runs,
    read_metrics,
    read_probe_records,
    read_probe_weights,
    read_run,
    read_samples,
    true_state,
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_torn_last_line_is_skipped_and_complete_lines_are_kept(tmp_path: Path) -> None:
    file = tmp_path / "metrics.jsonl"
    file.write_bytes(b'{"iter": 1}\n\xff\xfe garbage\n[1, 2]\n{"iter": 2}\n{"iter": 3, "tra')
    assert read_jsonl(file) == [{"iter": 1}, {"iter": 2}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_metrics_curves_are_read_and_downsampled(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "r1", evals=(0, 500, 1000))
    full = read_metrics(path)
    assert full.train_iters[0] == 0 and full.train_iters[-1] == 1000 and len(full.train_iters) == 101
    assert full.val_iters == [0, 500, 1000]
    small = read_metrics(path, max_points=20)
    assert len(small.train_iters) <= 20
    assert small.train_iters[0] == 0 and small.train_iters[-1] == 1000  # ends kept
    assert small.val_iters == [0, 500, 1000]  # every evaluation kept
    assert small.seconds_per_iter is not None and abs(small.seconds_per_iter - 0.1) < 1e-9


def test_downsample_never_exceeds_its_budget() -> None:
    for n in (0, 1, 5, 500, 10_001):
        idx = downsample(n, 100)
        assert len(idx) <= 100 and idx == sorted(set(idx))
        if n:
            assert idx[0] == 0 and idx[-1] == n - 1


def test_eta_comes_from_the_measured_speed_of_a_running_run(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "r2", state="running", evals=(0, 100))
    status = json.loads((path / "status.json").read_text())
    status.update(iter=100, max_iters=400)
    (path / "status.json").write_text(json.dumps(status))
    info = read_run(path)
    assert info.state == "running"
    assert abs(eta_seconds(info, read_metrics(path)) - 300 * 0.1) < 1e-6
    finished = make_run(isolated_runs_dir, "r3")
    assert eta_seconds(read_run(finished), read_metrics(finished)) is None


def test_true_state_of_active_runs_depends_on_their_process() -> None:
    assert true_state({"state": "running", "pid": dead_pid()})[0] == "interrupted"
    state, message = true_state({"state": "queued", "pid": dead_pid()})
    assert state == "interrupted" and "never started" in message
    assert true_state({"state": "finished", "pid": dead_pid(), "message": "done"}) == ("finished", "done")
    assert true_state(None)[0] == "unknown"
    assert true_state({"state": "running", "pid": "not a pid"})[0] == "interrupted"


def test_list_runs_is_newest_first_and_skips_what_is_not_a_run(isolated_runs_dir: Path, tmp_path: Path) -> None:
    make_run(isolated_runs_dir, "older", checkpoint=False)
    time.sleep(0.01)
    make_run(isolated_runs_dir, "newer", checkpoint=False)
    (isolated_runs_dir / ".hidden").mkdir()
    (isolated_runs_dir / "stray-file.txt").write_text("x")
    outside = make_run(tmp_path, "outside", checkpoint=False)
    (isolated_runs_dir / "linked").symlink_to(outside)
    assert [r.run_id for r in list_runs(isolated_runs_dir)] == ["newer", "older"]


def test_samples_probes_and_head_scores(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "r4", evals=(0, 50, 100))
    assert [s["iter"] for s in read_samples(path)] == [0, 50, 100]
    records = read_probe_records(path)
    assert [r.iter for r in records] == [0, 50, 100]
    assert records[0].tokens == PROBE_TOKENS
    weights = read_probe_weights(path, 50)
    T = len(PROBE_TOKENS)
    assert weights.shape == (2, 2, T, T)
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert read_probe_weights(path, 75) is None  # no evaluation at 75
    iters, scores = head_score_series(records, "previous_token")
    assert iters == [0, 50, 100] and scores.shape == (3, 2, 2)
    assert np.allclose(scores[:, 0, 0], [0.0, 0.1, 0.2])


def test_a_damaged_probe_file_reads_as_missing(isolated_runs_dir: Path) -> None:
    path = make_run(isolated_runs_dir, "r5", checkpoint=False)
    (path / "probe" / "iter-000050.safetensors").write_bytes(b"not safetensors")
    assert read_probe_weights(path, 50) is None


def test_speed_after_a_resume_ignores_the_lines_before_the_restart(tmp_path: Path) -> None:
    lines = [{"iter": i, "train_loss": 2.0, "elapsed_s": i * 1.0} for i in range(10, 60, 10)]  # 1 s/iter
    lines += [{"iter": i, "train_loss": 2.0, "elapsed_s": (i - 50) * 0.5} for i in range(60, 100, 10)]  # 0.5 s/iter
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert read_metrics(tmp_path).seconds_per_iter == pytest.approx(0.5)
