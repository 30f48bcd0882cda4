"""One run status everywhere (issue 11): right after Start, the Train page's queue table and the live
dashboard's header said different things ("running" and "queued") about the same run.

The worker here waits at a gate before it becomes the fake worker, so the test can look while the
manager has started its process but the run has not said "running" yet (a real worker spends
seconds loading PyTorch and the corpus there).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import open_page, texts
from streamlit.testing.v1 import AppTest

import ui.train_estimate
from gpt.runs import JobManager, RunState
from gpt.train import ProbeQueue, ProbeResult, TrainSettings
from tests.helpers import wait_until
from ui.process_wide import BoundedStore

FAKE_WORKER = Path(__file__).resolve().parents[1] / "fake_train_worker.py"
GATED_WORKER = """\
import os, sys, time
from pathlib import Path
gate = Path(os.environ["GATE_FILE"])
while not gate.exists():  # "loading": the process is there, the run has said nothing yet
    time.sleep(0.05)
os.execv(sys.executable, [sys.executable, {fake!r}, *sys.argv[1:]])
"""


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs started from here wait until the returned file exists, then train (the fake worker)."""
    script = tmp_path / "gated_worker.py"
    script.write_text(GATED_WORKER.format(fake=str(FAKE_WORKER)))
    monkeypatch.setenv("ATTN_EXPLORER_TRAIN_COMMAND", shlex.join([sys.executable, str(script)]))
    monkeypatch.setenv("GATE_FILE", str(tmp_path / "gate"))
    monkeypatch.setenv("FAKE_STEP_S", "0.5")
    return tmp_path / "gate"


@pytest.fixture
def no_real_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Train page's speed probe answers at once, from a store of this test only."""

    def fake_probe(cfg, batch_size: int, device: str, **_: object) -> ProbeResult:
        return ProbeResult(device, 0.01, 3, 0.03, None, 1000.0, batch_size)

    queue = ProbeQueue(BoundedStore(max_entries=8), probe=fake_probe)
    monkeypatch.setattr(ui.train_estimate, "SPEED_PROBES", queue)


@pytest.fixture
def jobs(isolated_runs_dir: Path, gate: Path) -> Iterator[JobManager]:
    manager = JobManager(isolated_runs_dir, command=[sys.executable, str(gate.parent / "gated_worker.py")])
    yield manager
    manager.close()


def test_the_queue_says_what_the_run_says_while_its_worker_starts(jobs: JobManager, gate: Path) -> None:
    first = jobs.submit("first", TrainSettings(max_iters=100), "cpu")
    second = jobs.submit("second", TrainSettings(max_iters=100), "cpu")
    entries = {e.run_id: e for e in jobs.queue()}
    assert entries[first].state == RunState.RUNNING  # its process holds the device ...
    assert entries[first].run_state == jobs.get_run(first).state == RunState.QUEUED  # ... but it has not started
    assert "starting" in jobs.get_run(first).message
    assert entries[second].run_state == jobs.get_run(second).state == RunState.QUEUED
    gate.touch()
    wait_until(lambda: jobs.get_run(first).state == RunState.RUNNING, what="the worker to say 'running'")
    entries = {e.run_id: e for e in jobs.queue()}
    assert entries[first].run_state == RunState.RUNNING and entries[second].run_state == RunState.QUEUED


def queue_states(at: AppTest) -> dict[str, str]:
    table = next(d.value for d in at.dataframe if "place in queue" in d.value.columns)
    return dict(zip(table["run"], table["state"], strict=True))


def dashboard_state(at: AppTest, run_id: str) -> str:
    header = next(s.value for s in at.subheader if s.value.endswith(f"`{run_id}`"))
    return header.split(" · ")[0].split()[-1]  # ":material/icon: <state> · `<run id>`"


@pytest.mark.usefixtures("no_real_probe")
def test_right_after_start_the_queue_table_and_the_dashboard_say_the_same(gate: Path) -> None:
    from ui.jobs import manager

    try:
        at = open_page("train")
        at.number_input(key="w_train_max_iters").set_value(100).run()
        at.button(key="train_launch").click().run()
        run_id = at.session_state["run"]
        assert not at.exception
        assert queue_states(at)[run_id] == dashboard_state(at, run_id) == "queued"
        assert "the training process is loading PyTorch" in texts(at)  # why it is still queued
        gate.touch()
        deadline = time.time() + 30
        while dashboard_state(at, run_id) != "running" and time.time() < deadline:
            time.sleep(0.2)
            at.run()  # what the fragments' refresh does (run_every never ticks in AppTest)
        assert queue_states(at)[run_id] == dashboard_state(at, run_id) == "running"
    finally:
        manager().close()
