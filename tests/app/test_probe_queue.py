"""The Train page's speed probe on a shared server: in the background (the page never waits for it),
one child at a time in the order asked for, niced, without the teacher key, only the teacher's in
classroom mode, and never for a run that does not fit in the memory free now.

The probe child is faked at ``subprocess.run`` (only calls of ``gpt.train.estimate`` are caught): it
records every start, how many were running at once and the environment and request it got, and
answers like the real child once the test lets it. Each fake holds its probe until the test sets
``release``, so a page that waited for its probe could not have been drawn while it is held.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import open_page, texts
from streamlit import config

import gpt.train.estimate as estimate
import ui.train_estimate
from gpt.config import preset
from gpt.train import TRAINING_PRESETS
from ui.classroom import KEY_ENV

KEY = "correct horse battery staple"
REAL_RUN = subprocess.run


class FakeProbeChild:
    """Stands in for ``python -m gpt.train.estimate``; holds each call until ``release`` is set."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.envs: list[dict[str, str]] = []
        self.running = 0
        self.most_at_once = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()  # answer at once unless a test holds it
        self.answer = {"device": "cpu", "seconds_per_iter": 0.02, "steps_timed": 5, "warmup_s": 0.1}
        self.answer |= {"peak_memory_bytes": None, "tokens_per_s": 1000.0, "batch_measured": 4}
        self._lock = threading.Lock()

    def __call__(self, argv, *args, **kwargs):
        if "gpt.train.estimate" not in argv:
            return REAL_RUN(argv, *args, **kwargs)
        with self._lock:
            self.requests.append(json.loads(argv[-1]))
            self.envs.append(dict(kwargs.get("env") or {}))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.entered.set()
        try:
            assert self.release.wait(60), "the test never let the fake probe finish"
        finally:
            with self._lock:
                self.running -= 1
        return subprocess.CompletedProcess(argv, 0, stdout=json.dumps(self.answer) + "\n", stderr="")


@pytest.fixture
def child(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProbeChild]:
    ui.train_estimate.forget_probes()  # a real probe another test left running ends first, uncounted
    fake = FakeProbeChild()
    monkeypatch.setattr(subprocess, "run", fake)
    yield fake
    fake.release.set()
    ui.train_estimate.forget_probes()  # no fake measurement may reach another test


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def estimated_time(at) -> str:
    return metric(at, "estimated time")


def in_background(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_two_probes_in_one_server_run_one_after_the_other(child: FakeProbeChild) -> None:
    child.release.clear()
    results = []
    first = in_background(lambda: results.append(estimate.probe_in_subprocess(preset("tiny"), 2, "cpu")))
    assert child.entered.wait(30)
    second = in_background(lambda: results.append(estimate.probe_in_subprocess(preset("tiny"), 3, "cpu")))
    time.sleep(0.5)  # time for the second to start a child too, were it allowed to (the check is a count)
    assert len(child.requests) == 1
    child.release.set()
    first.join(30)
    second.join(30)
    assert len(results) == 2 and len(child.requests) == 2
    assert child.most_at_once == 1


def test_the_page_answers_while_its_probe_runs_and_shows_the_estimate_when_it_is_in(child: FakeProbeChild) -> None:
    child.release.clear()
    at = open_page("train")  # drawn while the probe child is held: the page does not wait for it
    assert not at.exception
    assert child.entered.wait(30) and len(child.requests) == 1  # ... which was started, in the background
    assert "Measuring the speed on cpu" in texts(at)
    assert estimated_time(at) == "–"
    assert metric(at, "parameters") == "0.81 M" and "MB" in metric(at, "training memory")
    assert [b for b in at.button if b.key == "train_launch"]  # a run can start before its speed is known
    child.release.set()
    assert ui.train_estimate.SPEED_PROBES.wait_idle(30)
    at.run()  # what the page's poll does every PROBE_POLL_S (run_every fragments never tick in AppTest)
    assert estimated_time(at) not in ("–", "")
    assert "Measured on cpu" in texts(at) and "Measuring the speed" not in texts(at)
    assert len(child.requests) == 1


def test_tabs_queue_their_probes_in_order_and_every_tab_shares_each_result(child: FakeProbeChild) -> None:
    child.release.clear()
    first = open_page("train")
    assert child.entered.wait(30)
    second = open_page("train")  # another tab, then another batch size: another probe
    second.number_input(key="w_train_batch_size").set_value(4).run()
    assert not second.exception
    assert "1 other measurement(s) go first" in texts(second)
    same = open_page("train")  # a third tab with the first tab's settings asks for nothing new
    assert "Measuring the speed on cpu" in texts(same)
    assert len(child.requests) == 1  # the second waits its turn: one child at a time
    child.release.set()
    assert ui.train_estimate.SPEED_PROBES.wait_idle(30)
    first_batch = next(iter(TRAINING_PRESETS.values())).settings.batch_size  # the first preset's
    assert [r["batch_size"] for r in child.requests] == [first_batch, 4]  # in the order they were asked for
    assert child.most_at_once == 1
    for tab in (first, second, same):
        tab.run()
        assert estimated_time(tab) not in ("–", "")
    assert estimated_time(same) == estimated_time(first)
    again = open_page("train")  # a new tab: the result is the server's, not the tab's
    assert estimated_time(again) == estimated_time(first)
    assert len(child.requests) == 2


def test_a_failed_probe_is_remembered_as_its_message(child: FakeProbeChild) -> None:
    child.answer = {"error": "this model and batch do not fit in the memory of cpu"}
    at = open_page("train")
    assert ui.train_estimate.SPEED_PROBES.wait_idle(30)
    at.run()
    assert any("The speed probe could not run" in w.value and "do not fit" in w.value for w in at.warning)
    assert estimated_time(at) == "–"
    open_page("train").run()
    assert len(child.requests) == 1  # it would fail again: not tried again


def test_the_probe_child_runs_niced_and_never_sees_the_teacher_key(child, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("teacher_key", KEY)  # where Streamlit copies secrets.toml's top-level values
    estimate.probe_in_subprocess(preset("tiny"), 2, "cpu")
    env = child.envs[0]
    assert KEY_ENV not in env and "teacher_key" not in env
    assert KEY not in env.values()
    assert child.requests[0]["nice"] == 10


def test_the_probe_command_lowers_its_own_priority(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    niced: list[int] = []
    monkeypatch.setattr(estimate.os, "nice", lambda n: niced.append(n) or n)
    request = {"config": preset("tiny").to_dict(), "batch_size": 0, "device": "cpu", "nice": 10}
    assert estimate.main([json.dumps(request)]) == 2  # batch 0 is refused after the priority is lowered
    assert niced == [10]
    assert "batch size" in capsys.readouterr().out


@pytest.fixture
def classroom(monkeypatch: pytest.MonkeyPatch) -> None:
    config.set_option("server.address", "0.0.0.0")  # the autouse local_server fixture puts it back
    monkeypatch.setenv(KEY_ENV, KEY)


@pytest.mark.usefixtures("classroom")
def test_a_student_starts_no_probe_but_sees_what_the_teacher_measured(child: FakeProbeChild) -> None:
    child.release.clear()
    student = open_page("train")
    assert not student.exception
    assert child.requests == []
    assert "only the teacher starts a measurement" in texts(student)
    assert estimated_time(student) == "–"
    teacher = open_page("train")
    assert child.requests == []  # not unlocked yet: a student like any other
    teacher.sidebar.text_input(key="teacher_key_input").input(KEY).run()
    assert child.entered.wait(30) and len(child.requests) == 1  # the teacher's tab measures
    assert "Measuring the speed on cpu" in texts(teacher)
    student.run()
    assert "Measuring the speed on cpu" in texts(student)  # the student sees the teacher's probe run
    child.release.set()
    assert ui.train_estimate.SPEED_PROBES.wait_idle(30)
    student.run()
    assert estimated_time(student) not in ("–", "")
    assert len(child.requests) == 1


def test_available_memory_reads_memavailable(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    2000000 kB\n")
    assert estimate.available_memory(meminfo) == 2_000_000 * 1024
    assert estimate.available_memory(tmp_path / "missing") == estimate.physical_memory()


def test_a_run_bigger_than_the_free_memory_is_refused_before_any_probe(child, monkeypatch) -> None:
    free = 4 * 1024 * 1024  # 4 MB free, though the machine has far more in total
    assert (estimate.physical_memory() or 0) > 100 * free
    monkeypatch.setattr(ui.train_estimate, "available_memory", lambda: free)
    at = open_page("train")
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "does not fit" in errors and "4.0 MB free now" in errors
    assert not [b for b in at.button if b.key == "train_launch"]
    assert child.requests == []


def test_next_to_a_training_run_the_probe_waits_for_a_yes(child: FakeProbeChild, monkeypatch) -> None:
    from gpt.train import TrainSettings
    from ui.jobs import manager

    worker = Path(__file__).resolve().parents[1] / "fake_train_worker.py"
    monkeypatch.setenv("ATTN_EXPLORER_TRAIN_COMMAND", shlex.join([sys.executable, str(worker)]))
    monkeypatch.setenv("FAKE_STEP_S", "5")  # the run holds the CPU while the test looks
    jobs = manager()  # the page's own manager (one per server process and runs folder)
    try:
        jobs.submit("class-run", TrainSettings(max_iters=100), "cpu")
        at = open_page("train")
        assert not at.exception
        assert any("would slow it down" in i.value for i in at.info)
        assert child.requests == []  # not without asking
        at.button(key="train_probe_anyway").click().run()
        assert ui.train_estimate.SPEED_PROBES.wait_idle(30)
        assert len(child.requests) == 1
        at.run()
        assert estimated_time(at) not in ("–", "")
        assert "a run is training on this device, so it may be faster alone" in texts(at)
    finally:
        jobs.close()
