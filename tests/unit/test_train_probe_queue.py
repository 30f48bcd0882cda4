"""The background speed-probe queue without Streamlit: one probe at a time, oldest first, never one
twice, failures kept as their message, a bounded queue, and a thread that survives a broken probe."""

from __future__ import annotations

import threading

import pytest

from gpt.config import preset
from gpt.train import EstimateError, ProbeQueue, ProbeRequest, ProbeResult, ProbeStatus

TINY = preset("tiny")


class Store(dict):
    """The results store a queue needs: get and put (the app's is ui.process_wide.BoundedStore)."""

    def put(self, key, value) -> None:
        self[key] = value


class HeldProbe:
    """A probe that records each call and, while ``gate`` is clear, waits before it answers."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.optimizers: list[str] = []
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.at_once = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, cfg, batch_size: int, device: str, optimizer: str = "adamw") -> ProbeResult:
        with self._lock:
            self.calls.append(batch_size)
            self.optimizers.append(optimizer)
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        self.started.release()
        assert self.gate.wait(30)
        with self._lock:
            self.at_once -= 1
        if batch_size == 13:
            raise EstimateError("this model and batch do not fit in the memory of cpu")
        if batch_size == 99:
            raise ZeroDivisionError("a bug in a probe")
        return ProbeResult(device, 0.01 * batch_size, 3, 0.03, None, 1000.0, batch_size)


@pytest.fixture
def probe() -> HeldProbe:
    return HeldProbe()


def ask(batch_size: int) -> ProbeRequest:
    return ProbeRequest.of(TINY, batch_size, "cpu")


def test_requests_return_at_once_and_run_one_at_a_time_oldest_first(probe: HeldProbe) -> None:
    queue = ProbeQueue(Store(), probe=probe)
    assert queue.request(ask(1)) == ProbeStatus(place=0)
    assert probe.started.acquire(timeout=30)  # the first runs while the others are asked for
    assert queue.request(ask(2)) == ProbeStatus(place=1)
    assert queue.request(ask(3)) == ProbeStatus(place=2)
    assert queue.request(ask(2)) == ProbeStatus(place=1)  # asked again: not queued twice
    assert queue.status(ask(4)) == ProbeStatus()  # looking asks for nothing
    probe.gate.set()
    assert queue.wait_idle(30)
    assert probe.calls == [1, 2, 3] and probe.most_at_once == 1
    done = queue.status(ask(2)).outcome
    assert isinstance(done, ProbeResult) and done.seconds_per_iter == pytest.approx(0.02)
    assert queue.request(ask(2)).outcome == done  # known: nothing measured again
    assert probe.calls == [1, 2, 3]


def test_equal_models_are_one_request() -> None:
    assert ProbeRequest.of(preset("tiny"), 4, "cpu") == ProbeRequest.of(TINY.with_changes(), 4, "cpu")
    assert ProbeRequest.of(TINY, 4, "cpu") != ProbeRequest.of(TINY, 4, "cuda:0")
    assert ProbeRequest.of(TINY, 4, "cpu") != ProbeRequest.of(TINY, 4, "cpu", "muon")  # Muon steps cost more


def test_the_probe_times_the_runs_own_optimizer(probe: HeldProbe) -> None:
    probe.gate.set()
    queue = ProbeQueue(Store(), probe=probe)
    queue.request(ProbeRequest.of(TINY, 4, "cpu", "muon"))
    queue.request(ProbeRequest.of(TINY, 4, "cpu"))
    assert queue.wait_idle(30) and probe.optimizers == ["muon", "adamw"]


def test_failures_are_kept_as_messages_and_the_queue_goes_on(probe: HeldProbe) -> None:
    probe.gate.set()
    queue = ProbeQueue(Store(), probe=probe)
    for batch_size in (13, 99, 2):
        queue.request(ask(batch_size))
    assert queue.wait_idle(30)
    assert queue.status(ask(13)).outcome == "this model and batch do not fit in the memory of cpu"
    assert "ZeroDivisionError: a bug in a probe" in str(queue.status(ask(99)).outcome)
    assert isinstance(queue.status(ask(2)).outcome, ProbeResult)  # the thread survived the bug
    queue.request(ask(13))
    assert queue.wait_idle(30) and probe.calls == [13, 99, 2]  # a failure is not retried


def test_a_full_queue_takes_no_more_until_there_is_room(probe: HeldProbe) -> None:
    queue = ProbeQueue(Store(), probe=probe, max_waiting=2)
    queue.request(ask(1))
    assert probe.started.acquire(timeout=30)
    queue.request(ask(2))
    queue.request(ask(3))
    assert queue.request(ask(4)) == ProbeStatus()  # no room: not queued, asked again later
    queue.forget_waiting()
    assert queue.request(ask(4)) == ProbeStatus(place=1)
    probe.gate.set()
    assert queue.wait_idle(30)
    assert probe.calls == [1, 4]
