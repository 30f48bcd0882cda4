"""The job manager: queueing, stopping, true status of dead workers, safe names and deletion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt.runs import JobError, JobManager, check_upload, list_runs, read_run, sanitize_run_name
from gpt.runs.inputs import UPLOAD_NAME
from gpt.runs.worker import WORKER_NICENESS
from gpt.train import TrainSettings
from tests.helpers import wait_until

FAKE_WORKER = (sys.executable, str(Path(__file__).resolve().parents[1] / "fake_train_worker.py"))


@pytest.fixture
def fake_manager(isolated_runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JobManager]:
    monkeypatch.setenv("FAKE_STEP_S", "0.02")
    manager = JobManager(isolated_runs_dir, max_per_device=1, command=FAKE_WORKER, poll_interval=0.05)
    yield manager
    manager.close()


def state_of(manager: JobManager, run_id: str) -> str:
    return manager.get_run(run_id).state


def test_second_run_waits_in_the_queue_then_starts(fake_manager: JobManager) -> None:
    first = fake_manager.submit("first", TrainSettings(max_iters=30), "cpu")
    second = fake_manager.submit("second", TrainSettings(max_iters=5), "cpu")
    assert state_of(fake_manager, second) == "queued"
    assert [(e.run_id, e.state) for e in fake_manager.queue()] == [(first, "running"), (second, "queued")]
    assert "position 1" in fake_manager.get_run(second).message
    wait_until(lambda: state_of(fake_manager, first) == "finished", what="first run to finish")
    wait_until(lambda: state_of(fake_manager, second) == "finished", what="second run to start and finish")
    wait_until(lambda: fake_manager.queue() == [], what="the worker processes to exit")


def test_two_slots_per_device_run_two_at_once(isolated_runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    manager = JobManager(isolated_runs_dir, max_per_device=2, command=FAKE_WORKER, poll_interval=0.05)
    try:
        ids = [manager.submit("r", TrainSettings(max_iters=200), "cpu") for _ in range(3)]
        states = [e.state for e in manager.queue()]
        assert states == ["running", "running", "queued"]
        assert len(set(ids)) == 3  # the same name in the same second never reuses a folder
    finally:
        manager.close()


def test_stop_sends_sigterm_and_the_run_says_stopped(fake_manager: JobManager, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    run_id = fake_manager.submit("long", TrainSettings(max_iters=10_000), "cpu")
    wait_until(lambda: fake_manager.get_run(run_id).iter > 2, what="the run to make progress")
    message = fake_manager.stop(run_id)
    assert "Stop requested" in message
    wait_until(lambda: state_of(fake_manager, run_id) == "stopped", what="stopped status")
    info = fake_manager.get_run(run_id)
    assert info.resumable and 2 < info.iter < 10_000
    with pytest.raises(JobError, match="not running"):
        fake_manager.stop(run_id)


def test_stopping_a_queued_run_takes_it_off_the_queue(fake_manager: JobManager, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    first = fake_manager.submit("a", TrainSettings(max_iters=10_000), "cpu")
    second = fake_manager.submit("b", TrainSettings(max_iters=10), "cpu")
    assert "taken off" in fake_manager.stop(second)
    assert state_of(fake_manager, second) == "stopped"
    assert [e.run_id for e in fake_manager.queue()] == [first]


def test_resume_continues_a_stopped_run(fake_manager: JobManager, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    run_id = fake_manager.submit("r", TrainSettings(max_iters=40), "cpu")
    wait_until(lambda: fake_manager.get_run(run_id).iter > 1, what="progress")
    fake_manager.stop(run_id)
    wait_until(lambda: state_of(fake_manager, run_id) == "stopped", what="stopped")
    # the fake worker has no checkpoint: resume starts it again from its job.json
    monkeypatch.setenv("FAKE_STEP_S", "0.005")
    fake_manager.resume(run_id)
    wait_until(lambda: state_of(fake_manager, run_id) == "finished", what="the resumed run to finish")
    with pytest.raises(JobError, match="only stopped or interrupted"):
        fake_manager.resume(run_id)


def test_running_status_with_a_dead_pid_reads_as_interrupted(isolated_runs_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = isolated_runs_dir / "killed-run"
    run.mkdir()
    status = {"state": "running", "message": "step 5", "iter": 5, "max_iters": 100, "pid": dead.pid,
              "updated_at": time.time(), "device": "cpu"}  # fmt: skip
    (run / "status.json").write_text(json.dumps(status))
    info = read_run(run)
    assert info.state == "interrupted" and info.resumable
    assert "ended" in info.message
    # a live pid keeps "running"
    status["pid"] = os.getpid()
    (run / "status.json").write_text(json.dumps(status))
    assert read_run(run).state == "running"


def test_a_restarted_manager_lists_past_runs_with_their_true_status(isolated_runs_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.01")
    first = JobManager(isolated_runs_dir, command=FAKE_WORKER, poll_interval=0.05)
    done = first.submit("done", TrainSettings(max_iters=3), "cpu")
    wait_until(lambda: state_of(first, done) == "finished", what="finished")
    first.close()
    second = JobManager(isolated_runs_dir, command=FAKE_WORKER, background=False)
    assert [(r.run_id, r.state) for r in second.list_runs()] == [(done, "finished")]


def test_a_crashing_worker_is_marked_failed_with_its_message(fake_manager: JobManager, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_EXIT_CODE", "2")
    run_id = fake_manager.submit("crash", TrainSettings(), "cpu")
    wait_until(lambda: state_of(fake_manager, run_id) == "failed", what="failed status")
    assert "fake failure for a test" in fake_manager.get_run(run_id).message


def test_a_worker_killed_by_the_kernel_is_reported_as_probably_out_of_memory(isolated_runs_dir: Path) -> None:
    # What the kernel's out-of-memory killer does: SIGKILL, no last word from the worker.
    killed = (sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    manager = JobManager(isolated_runs_dir, command=killed, poll_interval=0.05)
    try:
        run_id = manager.submit("oom-killed", TrainSettings(), "cpu")
        wait_until(lambda: state_of(manager, run_id) == "failed", what="failed status")
        message = manager.get_run(run_id).message
        assert "SIGKILL" in message and "out of memory" in message and "smaller batch size" in message
    finally:
        manager.close()


@pytest.mark.parametrize("name", ["../evil", "a/b", "/etc/passwd", "..", "x\\y", "~root", "ok..no"])
def test_path_like_run_names_are_refused(fake_manager: JobManager, name: str, isolated_runs_dir: Path) -> None:
    with pytest.raises(JobError, match="plain name"):
        fake_manager.submit(name, TrainSettings(), "cpu")
    assert list(isolated_runs_dir.iterdir()) == []
    assert not (isolated_runs_dir.parent / "evil").exists()


def test_odd_characters_are_replaced_in_run_names() -> None:
    assert sanitize_run_name("My first run! (class 3)") == "My-first-run-class-3"
    assert sanitize_run_name("   ") == "run"
    assert sanitize_run_name("ünïcode") == "n-code"
    assert len(sanitize_run_name("x" * 500)) <= 40


@pytest.mark.parametrize("run_id", ["../x", "/etc", "", ".hidden", "a/b"])
def test_run_ids_that_point_elsewhere_are_refused(fake_manager: JobManager, run_id: str) -> None:
    with pytest.raises(JobError):
        fake_manager.run_path(run_id)
    with pytest.raises(JobError):
        fake_manager.delete(run_id)


def test_a_symlink_in_the_runs_folder_is_never_followed(fake_manager: JobManager, isolated_runs_dir, tmp_path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "status.json").write_text(json.dumps({"state": "finished"}))
    (isolated_runs_dir / "link-run").symlink_to(outside, target_is_directory=True)
    assert list_runs(isolated_runs_dir) == []
    with pytest.raises(JobError, match="link"):
        fake_manager.delete("link-run")
    assert (outside / "status.json").exists()


def test_delete_removes_a_finished_run_and_refuses_an_active_one(fake_manager: JobManager, monkeypatch) -> None:
    done = fake_manager.submit("done", TrainSettings(max_iters=2), "cpu")
    wait_until(lambda: state_of(fake_manager, done) == "finished", what="finished")
    monkeypatch.setenv("FAKE_STEP_S", "0.05")
    active = fake_manager.submit("active", TrainSettings(max_iters=10_000), "cpu")
    with pytest.raises(JobError, match="stop it"):
        fake_manager.delete(active)
    fake_manager.delete(done)
    assert [r.run_id for r in fake_manager.list_runs()] == [active]
    with pytest.raises(JobError, match="no run"):
        fake_manager.delete(done)


def test_uploads_are_checked_and_saved_inside_the_run_folder(fake_manager: JobManager) -> None:
    with pytest.raises(JobError, match="limited to 5 MB"):
        check_upload(b"a" * (5 * 1024 * 1024 + 1))
    with pytest.raises(JobError, match="not UTF-8"):
        check_upload("café".encode("latin-1") * 100)
    with pytest.raises(JobError, match="empty"):
        check_upload(b"   ")
    text = "To be, or not to be: that is the question.\n" * 50
    run_id = fake_manager.submit("mine", TrainSettings(max_iters=1), "cpu", upload=text.encode())
    path = fake_manager.run_path(run_id)
    assert (path / UPLOAD_NAME).read_text() == text
    job = json.loads((path / "job.json").read_text())
    assert str(path / UPLOAD_NAME) in job["worker_args"]


def test_unknown_device_is_refused(fake_manager: JobManager) -> None:
    with pytest.raises(JobError, match="unknown device"):
        fake_manager.submit("x", TrainSettings(), "tpu")


TINY = TrainSettings(
    n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, max_iters=100_000, warmup_iters=0,
    eval_interval=20, eval_iters=2, probe="to be or not",
)  # fmt: skip
TINY_TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 40).encode()


@pytest.mark.slow
def test_real_worker_stops_on_sigterm_with_a_checkpoint_and_resumes(isolated_runs_dir: Path) -> None:
    manager = JobManager(isolated_runs_dir, poll_interval=0.1)
    try:
        run_id = manager.submit("real", TINY, "cpu", upload=TINY_TEXT)
        wait_until(lambda: manager.get_run(run_id).iter >= 20, timeout=120, what="the real worker to train")
        worker = manager.get_run(run_id).status["pid"]
        assert os.getpriority(os.PRIO_PROCESS, worker) - os.getpriority(os.PRIO_PROCESS, 0) == WORKER_NICENESS
        manager.stop(run_id)
        wait_until(lambda: state_of(manager, run_id) == "stopped", timeout=60, what="stopped")
        info = manager.get_run(run_id)
        assert info.has_checkpoint and info.iter >= 20
        stopped_at = info.iter
        manager.resume(run_id)
        wait_until(lambda: manager.get_run(run_id).iter > stopped_at, timeout=120, what="the resumed run to go on")
        manager.stop(run_id)
        wait_until(lambda: state_of(manager, run_id) == "stopped", timeout=60, what="stopped again")
        assert manager.get_run(run_id).summary["state"] == "stopped"
    finally:
        manager.close()


@pytest.mark.slow
def test_workers_die_with_their_server(isolated_runs_dir: Path, tmp_path: Path) -> None:
    """A 'server' process starts a real run and is then killed: the worker notices (--parent-pid),
    saves a checkpoint and writes 'interrupted' itself."""
    corpus = tmp_path / "text.txt"
    corpus.write_bytes(TINY_TEXT)
    server_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from gpt.runs import JobManager\n"
        "from gpt.train import TrainSettings\n"
        f"settings = TrainSettings(**{TINY.to_dict()!r})\n"
        f"manager = JobManager(Path({str(isolated_runs_dir)!r}), background=False)\n"
        f"print(manager.submit('orphan', settings, 'cpu', upload=Path({str(corpus)!r}).read_bytes()), flush=True)\n"
        "time.sleep(600)\n"
    )
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen([sys.executable, "-c", server_code], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        run_id = server.stdout.readline().strip()
        path = isolated_runs_dir / run_id
        wait_until(lambda: read_run(path).iter >= 1, timeout=120, what="the worker to train")
    finally:
        server.kill()
        server.wait()
    wait_until(
        lambda: json.loads((path / "status.json").read_text())["state"] == "interrupted",
        timeout=60,
        what="the worker to notice that its server is gone",
    )
    info = read_run(path)
    assert info.state == "interrupted" and info.resumable and info.has_checkpoint


def test_stopping_a_worker_that_is_still_starting_says_stopped(isolated_runs_dir: Path) -> None:
    sleeper = (sys.executable, "-c", "import time; time.sleep(60)")  # never installs a SIGTERM handler
    manager = JobManager(isolated_runs_dir, command=sleeper, poll_interval=0.05)
    try:
        run_id = manager.submit("slow-start", TrainSettings(), "cpu")
        assert manager.get_run(run_id).state == "queued"  # the worker has not said anything yet
        assert "Stop requested" in manager.stop(run_id)
        wait_until(lambda: state_of(manager, run_id) == "stopped", what="stopped")
        assert "while it was starting" in manager.get_run(run_id).message
    finally:
        manager.close()


def test_the_teacher_key_is_not_handed_to_training_processes(isolated_runs_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_TEACHER_KEY", "sesame-1234")
    monkeypatch.setenv("teacher_key", "sesame-1234")  # as Streamlit exports secrets.toml values
    dump_env = (sys.executable, "-c", "import json, os, sys; print(json.dumps(dict(os.environ)))")
    manager = JobManager(isolated_runs_dir, command=dump_env, poll_interval=0.05)
    try:
        run_id = manager.submit("env", TrainSettings(), "cpu")
        log = isolated_runs_dir / run_id / "worker.log"
        wait_until(lambda: log.is_file() and "PATH" in log.read_text(), what="the process to print its environment")
        assert "sesame-1234" not in log.read_text()
    finally:
        manager.close()


def test_the_queue_has_a_limit_with_a_clear_message(isolated_runs_dir: Path) -> None:
    sleeper = (sys.executable, "-c", "import time; time.sleep(60)")
    manager = JobManager(isolated_runs_dir, command=sleeper, poll_interval=0.05, max_queued=2)
    try:
        manager.submit("running", TrainSettings(), "cpu")  # takes the device
        manager.submit("waiting 1", TrainSettings(), "cpu")
        manager.submit("waiting 2", TrainSettings(), "cpu")
        with pytest.raises(JobError, match="2 runs are already waiting"):
            manager.submit("one too many", TrainSettings(), "cpu")
        assert len(list_runs(isolated_runs_dir)) == 3  # the refused run left no folder behind
    finally:
        manager.close()
